import os

# llama.cpp's OpenMP threads busy-wait by default, which makes 2 threads crawl on shared cores
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
