"""The paper's evaluations (compression, downstream accuracy, KB ablation) and the sweep engine that runs them."""
