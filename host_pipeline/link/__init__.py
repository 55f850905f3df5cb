"""Host side of the gr-lgmtsc physical layer: a ZeroMQ client for the flowgraphs."""

from .zmq_client import PhyLink, pdu_format  # noqa: F401
