"""What every delivery channel shares: the API models, the Rasa client, the message routing."""
