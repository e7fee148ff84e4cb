"""The Rasa project of govbot: domain, training data, NLU components and custom actions."""
