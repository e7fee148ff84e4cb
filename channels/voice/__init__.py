"""Speech for the channels: text-to-speech (tts), and speech-to-text for voice input (audio, stt, service, routes)."""
