"""Host side of the gr-lgmtsc physical layer: a ZeroMQ client for the flowgraphs.

Imported lazily: `lgmtsc --help` needs neither pyzmq nor gr-lgmtsc. The PDU contract is gr-lgmtsc's own module:
``from gnuradio.lgmtsc import pdu_format`` (the one way the host imports gr-lgmtsc).
"""

__all__ = ["PhyLink"]


def __getattr__(name: str):
    if name == "PhyLink":
        from .zmq_client import PhyLink

        return PhyLink
    raise AttributeError(name)
