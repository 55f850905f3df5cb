"""LGM-TSC host pipeline: the transmitter and receiver hosts that talk to the gr-lgmtsc flowgraphs.

Stages (one interface each, backends chosen by :mod:`host_pipeline.config`): media and ASR, private
knowledge base, semantic and channel codecs, the ZeroMQ link, and the receiver's reconstruction.
"""

__version__ = "0.1.0"
