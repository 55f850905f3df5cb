"""The whole link: flowgraph processes, the transmitter and receiver hosts, and the loopback run."""
