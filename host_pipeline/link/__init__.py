"""Host side of the gr-lgmtsc physical layer: a ZeroMQ client for the flowgraphs.

Imported lazily: loading the PDU contract pulls in gr-lgmtsc (and scipy), which `lgmtsc --help` does not need.
"""

__all__ = ["PhyLink", "pdu_format"]


def __getattr__(name: str):
    if name in __all__:
        from . import zmq_client

        return getattr(zmq_client, name)
    raise AttributeError(name)
