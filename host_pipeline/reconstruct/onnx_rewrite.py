"""Make the dynamically quantised Kokoro ONNX model fast on CPUs without VNNI.

Profiling (``benchmarks/gsr_tts_profile.py``) showed 87 % of Kokoro's time in onnxruntime's ``ConvInteger``
kernel (uint8 activations x uint8 weights; no fast path on AVX2-only CPUs). Each
``ConvInteger(x_q, w_q, x_zp, w_zp)`` is replaced by the exactly equivalent float computation
``Cast<int32>(Round(Conv(float(x_q) - x_zp, float(w_q) - w_zp)))``: the integer convolution done by MLAS's float
kernel (integer inputs are exact in float32; sums round only beyond 2^24, a relative error under 1e-7).
The rest of the graph (bias add in int32, rescale) is untouched, so the output is the same model's output.
The rewritten model is cached beside the other derived files, keyed by the source file's size and mtime.

Both rewrites (float convolutions or not) also expose the duration predictor's per-token frame counts as a
second graph output, ``durations`` (int64, (1, tokens)): the tensor the graph itself builds its alignment from
(``duration_proj`` -> Sigmoid -> ReduceSum -> Div(speed) -> Round -> Clip(min 1) -> Cast), so the phoneme timings
come from the synthesiser (``KokoroTts``, one frame = ``KOKORO_SAMPLES_PER_FRAME`` samples at 24 kHz). Adding an
output computes nothing new: the audio is the same bits.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..paths import lgmtsc_home

log = logging.getLogger(__name__)
REWRITE_VERSION = 3
DURATIONS = "durations"  # the added output: per-token frame counts, pad tokens included
KOKORO_SAMPLES_PER_FRAME = 600  # measured: sum(durations) x 600 == len(audio) at 24 kHz (tests/reconstruct/test_tts.py)


def _float_convs(model, as_2d: bool = True) -> int:
    """Rewrite every ``ConvInteger`` of ``model`` (an ``onnx.ModelProto``) in place; returns how many."""
    from onnx import TensorProto, helper, numpy_helper

    g = model.graph
    inits = {t.name: t for t in g.initializer}
    new_nodes, new_inits, rewritten = [], [], 0
    axis2 = "/floatconv/axis2"
    new_inits.append(numpy_helper.from_array(np.array([2], np.int64), axis2))
    for n in g.node:
        if n.op_type != "ConvInteger" or n.input[1] not in inits:
            new_nodes.append(n)
            continue
        x_q, w_name = n.input[0], n.input[1]
        x_zp = n.input[2] if len(n.input) > 2 else ""
        w_zp = n.input[3] if len(n.input) > 3 else ""
        w = numpy_helper.to_array(inits[w_name]).astype(np.float32)
        if w_zp:
            zp = numpy_helper.to_array(inits[w_zp]).astype(np.float32)
            w = w - zp.reshape((-1,) + (1,) * (w.ndim - 1)) if zp.ndim else w - zp
        base = n.name or n.output[0]
        w_f = f"{base}/w_float"
        new_inits.append(numpy_helper.from_array(w, w_f))
        x_f = f"{base}/x_float"
        new_nodes.append(helper.make_node("Cast", [x_q], [x_f], to=TensorProto.FLOAT, name=f"{base}/cast_x"))
        if x_zp:
            x_zp_f, x_c = f"{base}/x_zp_float", f"{base}/x_centred"
            new_nodes.append(helper.make_node("Cast", [x_zp], [x_zp_f], to=TensorProto.FLOAT, name=f"{base}/cast_zp"))
            new_nodes.append(helper.make_node("Sub", [x_f, x_zp_f], [x_c], name=f"{base}/centre"))
            x_f = x_c
        y_f = f"{base}/y_float"
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if w.ndim == 3 and as_2d:  # Conv1d as a (1 x k) Conv2d: onnxruntime's NCHWc kernels are faster
            x_2d, y_2d = f"{base}/x_2d", f"{base}/y_2d"
            new_nodes.append(helper.make_node("Unsqueeze", [x_f, axis2], [x_2d], name=f"{base}/to_2d"))
            attrs = {k: ([0, *v[:1], 0, *v[1:]] if k == "pads" else [1, *v]) if isinstance(v, list) else v
                     for k, v in attrs.items()}
            new_inits[-1] = numpy_helper.from_array(w[:, :, None, :], w_f)
            new_nodes.append(helper.make_node("Conv", [x_2d, w_f], [y_2d], name=f"{base}/conv_float", **attrs))
            new_nodes.append(helper.make_node("Squeeze", [y_2d, axis2], [y_f], name=f"{base}/to_1d"))
        else:
            new_nodes.append(helper.make_node("Conv", [x_f, w_f], [y_f], name=f"{base}/conv_float", **attrs))
        y_r = f"{base}/y_rounded"
        new_nodes.append(helper.make_node("Round", [y_f], [y_r], name=f"{base}/round"))
        new_nodes.append(helper.make_node("Cast", [y_r], [n.output[0]], to=TensorProto.INT32, name=f"{base}/cast_y"))
        rewritten += 1
    used = {i for node in new_nodes for i in node.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.node[:]
    g.node.extend(new_nodes)
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    return rewritten


def _expose_durations(model) -> bool:
    """Add the predicted per-token durations (after rounding and clamping) as the graph output ``durations``;
    False when the graph does not have the expected chain after ``duration_proj``."""
    from onnx import TensorProto, helper

    g = model.graph
    if any(o.name == DURATIONS for o in g.output):
        return True
    cons: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)

    def after(name: str, op: str):
        return next((c for c in cons.get(name, []) if c.op_type == op), None)

    proj = [n for n in g.node if "duration_proj" in n.name and n.op_type == "Add"]
    chain = None
    for p in proj:
        node, ok = p, True
        for op in ("Sigmoid", "ReduceSum", "Div", "Round", "Clip"):
            node = after(node.output[0], op)
            if node is None:
                ok = False
                break
        if ok:
            chain = node
            break
    if chain is None:
        return False
    cast = after(chain.output[0], "Cast")
    to = {a.name: helper.get_attribute_value(a) for a in cast.attribute}.get("to") if cast is not None else None
    src = cast.output[0] if to == TensorProto.INT64 else chain.output[0]
    if src == chain.output[0]:  # float frame counts: cast them ourselves
        g.node.append(helper.make_node("Cast", [src], ["/durations/int64"], to=TensorProto.INT64,
                                       name="/durations/cast"))
        src = "/durations/int64"
    g.node.append(helper.make_node("Identity", [src], [DURATIONS], name="/durations/output"))
    g.output.append(helper.make_tensor_value_info(DURATIONS, TensorProto.INT64, None))
    return True


def kokoro_model(src: Path, float_conv: bool = True, cache_dir: Path | None = None) -> Path:
    """Path of ``src`` rewritten (built once, cached): its ``ConvInteger`` nodes in float when ``float_conv``, and
    the ``durations`` output in every case; ``src`` itself if the ``onnx`` package is missing (then the audio is
    the same but the synthesiser gives no timings)."""
    try:
        import onnx
    except ImportError:
        log.warning("the onnx package is missing: Kokoro runs its slow ConvInteger kernels and gives no phoneme "
                    "timings (pip install onnx)")
        return src
    st = src.stat()
    cache_dir = cache_dir or lgmtsc_home() / "derived" / "kokoro"
    kind = "floatconv" if float_conv else "int8"
    out = cache_dir / f"model-{kind}-v{REWRITE_VERSION}-{st.st_size}-{st.st_mtime_ns}.onnx"
    if out.exists():
        return out
    model = onnx.load(str(src))
    n = _float_convs(model) if float_conv else 0
    if not _expose_durations(model):
        log.warning("Kokoro: no duration chain found in %s; phoneme timings will be estimated", src)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{id(model)}")
    onnx.save(model, str(tmp))
    tmp.replace(out)  # atomic: concurrent processes never see a half-written model
    log.info("Kokoro: %d ConvInteger nodes rewritten in float, durations exposed -> %s", n, out)
    return out


def fast_kokoro_model(src: Path, cache_dir: Path | None = None) -> Path:
    """Path of ``src`` with its ``ConvInteger`` nodes in float and the ``durations`` output (``kokoro_model``)."""
    return kokoro_model(src, True, cache_dir)
