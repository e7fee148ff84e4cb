"""Speech for the channels: text-to-speech now, speech-to-text later."""
