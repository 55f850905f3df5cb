"""Lossless text coding for the digital mode: arithmetic coding driven by a language model both ends hold."""
