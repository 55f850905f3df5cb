"""``TextCoder``: text -> self-describing bytes -> text, exactly, with a model fingerprint and a CRC.

Message layout (bytes)::

    [0]      version (2 bits) | CRC-32 flag (1 bit) | coder id (5 bits: 0 utf8, 1 static, 2 lm)
    [1:3]    first 2 bytes of the coder's model fingerprint (static and lm only)
    varint   number of coded symbols: UTF-8 bytes (static) or tokens (lm); absent for utf8
    ...      payload (arithmetic code, or the UTF-8 bytes)
    [-2:]    CRC-16/CCITT (or [-4:] CRC-32) of header + payload + the text's UTF-8 bytes

The CRC covers the decoded text, so it catches both a damaged message and two ends whose models disagree:
a decoder never returns text that fails it. A receiver whose model differs from the header's fingerprint refuses
with ``TextCoderMismatch``; a sender told the receiver's fingerprints (``encode(..., peer=...)``) codes with a
model both hold (static or utf8) instead.

Link format (``encode_link`` / ``decode_link``, what the digital mode sends over gr-lgmtsc): no header and no CRC.
What the self-describing format spends on every message moves to where the link already carries it: the
format and model identity to the link association (``link_model_id``, 16 bits, gr-lgmtsc's ``text_model``), the
length to the burst header's length field (the PHY delivers exactly the message's bytes), and integrity to the
message tag over the (encrypted) bytes. One arithmetic code holds the coder's choice (first symbol: lm 61/64,
static 2/64, utf8 1/64), the symbols and an end symbol (the LM's own end-of-text token, its weight raised to at
least 1/64; for the static and utf8 coders a 257th symbol of weight 1/64); trailing zero bytes (at most 3) are
dropped, since the decoder reads zeros past the end.

Conversation context (``TextCoderConfig.context``, LM coder only): the LM codes message ``s`` after the texts of
earlier messages of the same sender that the receiver is known to hold (``LinkContext``), a run of consecutive
sequence numbers ``a..e``. After the coder symbol the message names it: ``d = s - e`` (0: no context; 1 has
probability 32/73) and, when ``a`` is not the start of ``e``'s block of ``context_messages`` sequence numbers, the
offset of ``a`` in that block. The receiver decodes only if it holds every one of ``a..e`` (``ContextMissing``
otherwise): sequence numbers never repeat under a sender's key, and it keeps only texts it verified and decoded.
"""

from __future__ import annotations

import binascii
import hashlib
import logging
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, LgmtscError
from .arith import ArithmeticDecoder, ArithmeticEncoder, cumulative
from .config import TextCoderConfig

log = logging.getLogger(__name__)

VERSION = 1
CODERS = {"utf8": 0, "static": 1, "lm": 2}
CODER_NAMES = {v: k for k, v in CODERS.items()}
FP_BYTES = 2
MAX_OVERRUN_BITS = 64  # a valid message is decoded after reading at most 32 + 7 bits past its end
MAX_SYMBOLS = 1 << 20  # bytes or tokens per message
LINK_FORMAT = 1  # version of the link format (part of ``link_model_id``)
LINK_CODERS = ("lm", "static", "utf8")  # the link format's first symbol
EOS_SHIFT = 6  # the end symbol's weight: at least 1/64 of the table
# so every other symbol costs >= log2(65/64) = 0.0224 bits: a message of n bytes holds at most 45 (8 n + 64) symbols
SYMBOLS_PER_BIT = 45


# the context descriptor: d = s - e (0 = no context) and the start's offset in its block (0 = the block's start)
CONTEXT_MAX_D = 16
_CTX_D_CUM = cumulative(np.array([8, 32, 12, 6, 3] + [1] * (CONTEXT_MAX_D - 4), dtype=np.int64))
_CTX_OFFSET_CUM = cumulative(np.array([31, 1], dtype=np.int64))


class CorruptMessage(InputError):
    """The message is damaged (CRC, header or length check failed)."""


class ContextMissing(InputError):
    """The message was coded after earlier messages this receiver does not hold (``missing``: their seqs)."""

    def __init__(self, message: str, missing: list[int], hint: str | None = None):
        super().__init__(message, hint=hint)
        self.missing = missing


@dataclass
class LinkContext:
    """One end's view of a sender's conversation, for the message with sequence number ``seq``: ``held`` maps the
    earlier messages' seqs to their texts, those the receiver holds (at the transmitter: the messages whose
    verified SNR report came back; at the receiver: the messages it verified and decoded)."""

    seq: int
    held: Mapping[int, str] = field(default_factory=dict)


class TextCoderMismatch(InputError):
    """The message was coded with a model this receiver does not hold."""


@dataclass
class Decoded:
    text: str
    coder: str  # which coder the sender used
    context: tuple[int, ...] = ()  # the seqs of the earlier messages it was coded after (link format)


def _crc(data: bytes, crc32: bool) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big") if crc32 else binascii.crc_hqx(data, 0xFFFF).to_bytes(2, "big")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _read_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    n = shift = 0
    while pos < end and shift < 35:
        b = data[pos]
        n |= (b & 0x7F) << shift
        pos += 1
        if not b & 0x80:
            return n, pos
        shift += 7
    raise CorruptMessage("text-coder message: bad length field")


_LINK_CODER_CUM = cumulative(np.array([61, 2, 1], dtype=np.int64))
_UNIFORM_CUM = cumulative(np.full(256, 64, dtype=np.int64))


def _with_end(cum, eos: int | None = None):
    """``cum`` with an end symbol of weight >= total >> EOS_SHIFT: symbol ``eos`` raised to it, or (None) a new
    last symbol."""
    total = int(cum[-1])
    floor = max(1, total >> EOS_SHIFT)
    if eos is None:
        return np.append(cum, total + floor)
    f = int(cum[eos]) - (int(cum[eos - 1]) if eos else 0)
    if f >= floor:
        return cum
    out = cum.copy()
    out[eos:] += floor - f
    return out


class TextCoder:
    """Lossless text coder. ``TextCoder.load(cfg)``, then ``encode(text) -> bytes`` / ``decode(bytes) -> str``.

    ``fingerprint`` is the hex fingerprint of the configured coder's model (what a peer compares);
    ``fingerprints()`` lists every model this end holds. Models load once per process, the LM lazily."""

    _instances: dict[tuple, TextCoder] = {}

    def __init__(self, cfg: TextCoderConfig):
        if cfg.coder not in CODERS:
            from ..errors import ConfigError

            raise ConfigError(f"unknown textcoder.coder {cfg.coder!r}", hint="use lm, static or utf8")
        if cfg.crc_bits not in (16, 32):
            from ..errors import ConfigError

            raise ConfigError(f"textcoder.crc_bits must be 16 or 32, not {cfg.crc_bits}")
        if cfg.context and not (1 <= cfg.context_messages <= 1024 and 1 <= cfg.context_tokens):
            from ..errors import ConfigError

            raise ConfigError(f"textcoder.context_messages ({cfg.context_messages}) must be 1-1024 and "
                              f"textcoder.context_tokens ({cfg.context_tokens}) positive")
        self.cfg = cfg
        self._static = None
        self._lm = None
        self._lm_error: LgmtscError | None = None
        self.coder = cfg.coder
        if cfg.coder == "lm":
            try:
                self.lm_model()
            except LgmtscError as e:
                if not cfg.fallback_static:
                    raise
                log.warning("text coder: the LM is unavailable (%s); using the static coder", e.message)
                self.coder = "static"
        if self.coder == "static":
            self.static_model()

    @classmethod
    def load(cls, cfg: TextCoderConfig | None = None) -> TextCoder:
        """The coder for ``cfg``, created once per process per distinct setting."""
        cfg = cfg or TextCoderConfig()
        key = tuple(sorted(vars(cfg).items()))
        if key not in cls._instances:
            cls._instances[key] = cls(cfg)
        return cls._instances[key]

    # -- models
    def static_model(self):
        if self._static is None:
            from .static_model import StaticByteModel, resolve_table

            self._static = StaticByteModel(resolve_table(self.cfg.static_table))
        return self._static

    def lm_model(self):
        if self._lm is None:
            if self._lm_error is not None:
                raise self._lm_error
            from .lm_model import LmTokenModel

            try:
                self._lm = LmTokenModel(self.cfg)
            except LgmtscError as e:
                self._lm_error = e
                raise
        return self._lm

    def model_fingerprint(self, coder: str) -> str:
        if coder == "utf8":
            return ""
        if coder == "static":
            import hashlib

            return hashlib.sha256(f"lgmtsc-textcoder-static/1|{self.static_model().sha256}".encode()).hexdigest()
        return self.lm_model().fingerprint

    @property
    def fingerprint(self) -> str:
        return self.model_fingerprint(self.coder)

    def fingerprints(self) -> dict[str, str]:
        """Fingerprint of every coder this end can use now (the LM only if loaded)."""
        out = {"utf8": "", "static": self.model_fingerprint("static")}
        if self._lm is not None:
            out["lm"] = self._lm.fingerprint
        return out

    # -- encoding
    def encode(self, text: str, coder: str | None = None, peer: dict[str, str] | None = None) -> bytes:
        """The message for ``text``. ``coder`` forces one coder (no shortest-of choice); ``peer`` is the
        receiver's ``fingerprints()``: a coder whose model the receiver lacks is not used."""
        if not isinstance(text, str):
            raise InputError(f"text to encode must be a str, not {type(text).__name__}")
        if coder is not None:
            if coder not in CODERS:
                raise InputError(f"unknown coder {coder!r}", hint="use lm, static or utf8")
            msg = self._encode_with(coder, text)
            if msg is None:
                raise InputError(f"the {coder} coder cannot code this text exactly (its tokenizer does not give it "
                                 "back)", hint="let the coder choose (no forced coder): it falls back to static")
            return msg
        candidates = [self.coder] + (["static", "utf8"] if self.cfg.shortest else [])
        if peer is not None:
            usable = [c for c in candidates if c == "utf8" or peer.get(c) == self.model_fingerprint(c)]
            if self.coder not in usable:
                log.info("text coder: the receiver lacks the %s model; falling back", self.coder)
            candidates = usable or ["utf8"]
        best = None
        for c in dict.fromkeys(candidates):
            msg = self._encode_with(c, text)
            if msg is not None and (best is None or len(msg) < len(best)):
                best = msg
        if best is None:  # the LM could not tokenize the text reversibly and nothing else was allowed
            best = self._encode_with("static", text)
        return best

    def _encode_with(self, coder: str, text: str) -> bytes | None:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError("the text is not valid Unicode (undecodable bytes from the command line?)") from None
        crc32 = self.cfg.crc_bits == 32
        head = bytes([VERSION << 6 | int(crc32) << 5 | CODERS[coder]])
        if coder == "utf8":
            payload = data
        else:
            head += bytes.fromhex(self.model_fingerprint(coder)[: 2 * FP_BYTES])
            if coder == "static":
                symbols, payload = len(data), self._encode_static(data)
            else:
                tokens = self.lm_model().tokenize(text)
                if tokens is None:
                    log.info("text coder: the LM tokenizer does not give this text back exactly")
                    return None
                symbols, payload = len(tokens), self._encode_lm(tokens)
            if symbols > MAX_SYMBOLS:
                raise InputError(f"text too long for one message ({symbols} symbols > {MAX_SYMBOLS})",
                                 hint="split it into sentences")
            head += _varint(symbols)
        return head + payload + _crc(head + payload + data, crc32)

    def _encode_static(self, data: bytes) -> bytes:
        model, enc = self.static_model(), ArithmeticEncoder()
        history = model.start()
        for b in data:
            enc.encode(model.cum(history), b)
            history = history[1:] + bytes([b])
        return enc.finish()

    def _encode_lm(self, tokens: list[int]) -> bytes:
        lm, enc = self.lm_model(), ArithmeticEncoder()
        with lm.lock:
            cum = lm.start() if tokens else None
            for i, t in enumerate(tokens):
                enc.encode(cum, t)
                if i + 1 < len(tokens):
                    cum = lm.after(t)
        return enc.finish()

    # -- link format (no header, no CRC: see the module docstring)
    @property
    def link_model_id(self) -> int:
        """16-bit id of the models this end codes link messages with (the association's ``text_model``)."""
        fps = self.fingerprints()
        ident = f"lgmtsc-textcoder-link/{LINK_FORMAT}|{fps['static']}|{fps.get('lm', '') if self.coder == 'lm' else ''}"
        if self.uses_context:
            ident += f"|context/1,{self.cfg.context_messages},{self.cfg.context_tokens},{CONTEXT_MAX_D}"
        return int(hashlib.sha256(ident.encode()).hexdigest()[:4], 16) or 1

    @property
    def uses_context(self) -> bool:
        """Whether LM link messages carry a context descriptor and are coded after earlier messages."""
        return self.coder == "lm" and bool(self.cfg.context)

    def _lm_end(self) -> int:
        """The LM link message's end symbol: with context, the separator between messages (a newline, which the LM
        predicts after a sentence far better than its end-of-text token), else the end-of-text token."""
        lm = self.lm_model()
        return lm.separator[0] if self.uses_context and len(lm.separator) == 1 else lm.eos

    # -- conversation context
    def _context_tokens(self, texts: list[str]) -> list[int]:
        """The LM tokens of earlier messages: each one's tokens (none if its text does not tokenize reversibly)
        followed by the separator (a newline)."""
        lm, out = self.lm_model(), []
        for t in texts:
            out += (lm.tokenize(t) or []) + lm.separator
        return out

    def choose_context(self, ctx: LinkContext | None) -> tuple[int, int, list[int]]:
        """The transmitter's choice for message ``ctx.seq``: (d, offset, seqs). The newest held message ``e`` at
        most ``CONTEXT_MAX_D`` back, with the run of consecutive held messages before it within ``e``'s block of
        ``context_messages`` seqs, the oldest left out beyond ``context_tokens`` tokens; (0, 0, []) for none."""
        if ctx is None or not self.uses_context:
            return 0, 0, []
        held, s = ctx.held, int(ctx.seq)
        e = next((s - d for d in range(1, CONTEXT_MAX_D + 1) if s - d in held), None)
        if e is None:
            return 0, 0, []
        block = e - e % self.cfg.context_messages
        a = e
        while a > block and a - 1 in held:
            a -= 1
        seqs = list(range(a, e + 1))
        budget = min(self.cfg.context_tokens, self.lm_model().window // 2)  # room for the message itself
        while seqs and len(self._context_tokens([held[q] for q in seqs])) > budget:
            seqs.pop(0)
        if not seqs:
            return 0, 0, []
        return s - e, seqs[0] - block, seqs

    def prepare_link(self, context: LinkContext | None) -> int:
        """Evaluate now the context a message ``context.seq`` would be coded after, so that coding it later finds
        it in the LM's cache (only time is saved: the bytes do not depend on it); the context's token count."""
        d, _, seqs = self.choose_context(context)
        if not seqs:
            return 0
        tokens = self._context_tokens([context.held[q] for q in seqs])
        lm = self.lm_model()
        with lm.lock:
            lm.start(tokens)
        return len(tokens)

    def _encode_context(self, enc: ArithmeticEncoder, d: int, offset: int, e: int) -> None:
        enc.encode(_CTX_D_CUM, d)
        if d:
            span = e % self.cfg.context_messages  # offsets 0..span are possible
            if span:
                enc.encode(_CTX_OFFSET_CUM, int(offset > 0))
                if offset:
                    enc.encode(cumulative(np.ones(span, dtype=np.int64)), offset - 1)

    def _decode_context(self, dec: ArithmeticDecoder, ctx: LinkContext | None) -> list[int]:
        """The seqs a message names as its context (after its coder symbol); ``ContextMissing`` if they are not
        all held."""
        d = dec.decode(_CTX_D_CUM)
        if not d:
            return []
        if ctx is None:
            raise ContextMissing(f"message was coded after earlier messages of its sender ({d} back), but no "
                                 "conversation was given to decode it", [], hint="give decode_link a LinkContext")
        e = int(ctx.seq) - d
        span = e % self.cfg.context_messages
        offset = 0
        if span and dec.decode(_CTX_OFFSET_CUM):
            offset = 1 + dec.decode(cumulative(np.ones(span, dtype=np.int64)))
        seqs = list(range(e - span + offset, e + 1))
        missing = [q for q in seqs if q not in ctx.held]
        if missing:
            raise ContextMissing(f"message was coded after messages {seqs[0]}-{seqs[-1]} of its sender; this "
                                 f"receiver does not hold {len(missing)} of them ({', '.join(map(str, missing[:4]))}"
                                 f"{', ...' if len(missing) > 4 else ''}): the conversation context was lost",
                                 missing, hint="the transmitter restarts its context when this message's "
                                               "(unverified) report reaches it")
        return seqs

    def encode_link(self, text: str, context: LinkContext | None = None) -> bytes:
        """The link-format message for ``text`` (the shortest of the configured coder, static and utf8 when
        ``shortest``). ``context``: this message's seq and the earlier messages the receiver holds (used by the
        LM coder when ``textcoder.context`` is on; see ``choose_context``)."""
        return self.encode_link_info(text, context)[0]

    def encode_link_info(self, text: str, context: LinkContext | None = None) -> tuple[bytes, tuple[int, ...]]:
        """(message, the seqs of the earlier messages it is coded after)."""
        if not isinstance(text, str):
            raise InputError(f"text to encode must be a str, not {type(text).__name__}")
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError("the text is not valid Unicode (undecodable bytes from the command line?)") from None
        candidates = [self.coder] + (["static", "utf8"] if self.cfg.shortest else [])
        best, used = None, ()
        for c in dict.fromkeys(candidates):
            msg, seqs = self._encode_link_with(c, text, data, context)
            if msg is not None and (best is None or len(msg) < len(best)):
                best, used = msg, seqs
        if best is None:
            best, used = self._encode_link_with("static", text, data, None)
        return best, used

    def _encode_link_with(self, coder: str, text: str, data: bytes,
                          context: LinkContext | None = None) -> tuple[bytes | None, tuple[int, ...]]:
        enc = ArithmeticEncoder()
        enc.encode(_LINK_CODER_CUM, LINK_CODERS.index(coder))
        seqs: list[int] = []
        if coder == "lm":
            tokens = self.lm_model().tokenize(text)
            if tokens is None:
                return None, ()
            if len(tokens) > MAX_SYMBOLS:
                raise InputError(f"text too long for one message ({len(tokens)} tokens)", hint="split it")
            lm = self.lm_model()
            eos = self._lm_end()
            if eos in tokens:  # the text holds the end symbol itself (a newline, with context): not codable
                return None, ()
            ctx_tokens: list[int] = []
            if self.uses_context:
                d, offset, seqs = self.choose_context(context)
                self._encode_context(enc, d, offset, int(context.seq) - d if d else 0)
                ctx_tokens = self._context_tokens([context.held[q] for q in seqs]) if seqs else []
            with lm.lock:
                cum = lm.start(ctx_tokens)
                for t in tokens:
                    enc.encode(_with_end(cum, eos), t)
                    cum = lm.after(t)
                enc.encode(_with_end(cum, eos), eos)
        else:
            if len(data) > MAX_SYMBOLS:
                raise InputError(f"text too long for one message ({len(data)} bytes)", hint="split it")
            static = self.static_model() if coder == "static" else None
            uniform = _with_end(_UNIFORM_CUM)
            history = static.start() if static else b""
            for b in data:
                enc.encode(_with_end(static.cum(history)) if static else uniform, b)
                if static:
                    history = history[1:] + bytes([b])
            enc.encode(_with_end(static.cum(history)) if static else uniform, 256)
        out = enc.finish()
        n = len(out)
        while n > 1 and len(out) - n < 3 and out[n - 1] == 0:
            n -= 1
        return out[:n], tuple(seqs)

    def decode_link(self, message: bytes, model_id: int | None = None, context: LinkContext | None = None) -> Decoded:
        """The text of a link-format message. ``model_id``: the sender's ``link_model_id`` (the association's
        ``text_model``); a different one refuses an lm or static message with ``TextCoderMismatch``. A damaged
        message raises ``CorruptMessage`` when the decoder runs past its end or the bytes are not UTF-8; there is
        no CRC, so a damage that stays inside the message decodes to other text (the link's tag rejects it
        before this is called). ``context``: the message's seq and the sender's earlier messages this receiver
        holds; an LM message coded after messages it does not hold raises ``ContextMissing``."""
        if not isinstance(message, (bytes, bytearray, memoryview)):
            raise InputError(f"message to decode must be bytes, not {type(message).__name__}")
        message = bytes(message)
        if not message:
            raise CorruptMessage("text-coder message is empty")
        dec = ArithmeticDecoder(message)
        limit = min(MAX_SYMBOLS, SYMBOLS_PER_BIT * (8 * len(message) + MAX_OVERRUN_BITS))
        coder = LINK_CODERS[dec.decode(_LINK_CODER_CUM)]
        if coder == "lm" and self.coder != "lm":
            raise TextCoderMismatch("message was coded with the LM, which this receiver does not use for link "
                                    "messages", hint="use the same textcoder.coder at both ends")
        if coder != "utf8" and model_id is not None and int(model_id) != self.link_model_id:
            raise TextCoderMismatch(f"message was coded with text models of id {int(model_id):04x}, this receiver "
                                    f"holds {self.link_model_id:04x}: the two ends' models or builds differ",
                                    hint="use the same textcoder settings (coder, lm_model) at both ends, or "
                                         "textcoder.coder=static")
        seqs: list[int] = []
        if coder == "lm":
            lm = self.lm_model()
            tokens: list[int] = []
            ctx_tokens: list[int] = []
            if self.uses_context:
                seqs = self._decode_context(dec, context)
                ctx_tokens = self._context_tokens([context.held[q] for q in seqs]) if seqs else []
            end = self._lm_end()
            with lm.lock:
                cum = lm.start(ctx_tokens)
                while True:
                    t = dec.decode(_with_end(cum, end))
                    if dec.overrun_bits > MAX_OVERRUN_BITS or len(tokens) > limit:
                        raise CorruptMessage("text-coder message runs past its end (damaged)")
                    if t == end:
                        break
                    tokens.append(t)
                    cum = lm.after(t)
            data = lm.detokenize(tokens)
        else:
            static = self.static_model() if coder == "static" else None
            uniform = _with_end(_UNIFORM_CUM)
            history, out = (static.start() if static else b""), bytearray()
            while True:
                b = dec.decode(_with_end(static.cum(history)) if static else uniform)
                if dec.overrun_bits > MAX_OVERRUN_BITS or len(out) > limit:
                    raise CorruptMessage("text-coder message runs past its end (damaged)")
                if b == 256:
                    break
                out.append(b)
                if static:
                    history = history[1:] + bytes([b])
            data = bytes(out)
        try:
            return Decoded(data.decode("utf-8"), coder, tuple(seqs))
        except UnicodeDecodeError as e:
            raise CorruptMessage(f"text-coder message decodes to invalid UTF-8: {e}") from None

    # -- decoding
    def decode(self, message: bytes) -> str:
        """The text of ``message``; ``CorruptMessage`` or ``TextCoderMismatch`` instead of ever wrong text."""
        return self.decode_info(message).text

    def _parse(self, message) -> tuple[str, bool, int, int, int]:
        """(coder, crc32, payload start, payload end, symbols) of a message; checks the header."""
        if not isinstance(message, (bytes, bytearray, memoryview)):
            raise InputError(f"message to decode must be bytes, not {type(message).__name__}")
        if not message:
            raise CorruptMessage("text-coder message is empty")
        version, crc32, coder_id = message[0] >> 6, bool(message[0] >> 5 & 1), message[0] & 0x1F
        if version != VERSION or coder_id not in CODER_NAMES:
            raise CorruptMessage(f"not a text-coder message (version {version}, coder {coder_id})",
                                 hint="the header byte is damaged or the sender runs another protocol version")
        coder = CODER_NAMES[coder_id]
        end = len(message) - (4 if crc32 else 2)
        pos, symbols = 1, 0
        if coder != "utf8":
            pos += FP_BYTES
            if end < pos:
                raise CorruptMessage("text-coder message is truncated")
            symbols, pos = _read_varint(message, pos, end)
            if symbols > MAX_SYMBOLS:
                raise CorruptMessage(f"text-coder message claims {symbols} symbols (damaged length field)")
        if end < pos:
            raise CorruptMessage("text-coder message is truncated")
        return coder, crc32, pos, end, symbols

    def payload_size(self, message: bytes) -> int:
        """Bytes of the message that are code (without header and CRC)."""
        _, _, start, end, _ = self._parse(message)
        return end - start

    def decode_info(self, message: bytes) -> Decoded:
        coder, crc32, pos, end, symbols = self._parse(message)
        message = bytes(message)
        if coder != "utf8":
            self._check_fingerprint(coder, message[1:1 + FP_BYTES])
        head, payload = message[:pos], message[pos:end]
        if coder == "utf8":
            data = payload
        elif coder == "static":
            data = self._decode_static(payload, symbols)
        else:
            data = self._decode_lm(payload, symbols)
        if data is None or _crc(head + payload + data, crc32) != message[end:]:
            raise CorruptMessage(f"text-coder CRC mismatch ({coder} message): it was damaged, or the two ends' "
                                 "models disagree", hint="resend; if it persists, send with textcoder.coder=static")
        try:
            return Decoded(data.decode("utf-8"), coder)
        except UnicodeDecodeError as e:  # only if a damaged message passed the CRC
            raise CorruptMessage(f"text-coder message decodes to invalid UTF-8: {e}") from None

    def _check_fingerprint(self, coder: str, got: bytes) -> None:
        try:
            mine = self.model_fingerprint(coder)
        except LgmtscError as e:
            raise TextCoderMismatch(f"message was coded with the {coder} coder, whose model this receiver cannot "
                                    f"load: {e.message}", hint="send with textcoder.coder=static") from None
        if bytes.fromhex(mine[: 2 * FP_BYTES]) != got:
            raise TextCoderMismatch(f"message was coded with a {coder} model of fingerprint {got.hex()}, this "
                                    f"receiver holds {mine[:2 * FP_BYTES]}: the two ends' models or builds differ",
                                    hint="send with textcoder.coder=static, or give the sender the receiver's "
                                         "fingerprints (encode(..., peer=...)) so it falls back by itself")

    def _decode_static(self, payload: bytes, n: int) -> bytes | None:
        model, dec = self.static_model(), ArithmeticDecoder(payload)
        history, out = model.start(), bytearray()
        for _ in range(n):
            b = dec.decode(model.cum(history))
            out.append(b)
            history = history[1:] + bytes([b])
            if dec.overrun_bits > MAX_OVERRUN_BITS:
                return None
        return bytes(out)

    def _decode_lm(self, payload: bytes, n: int) -> bytes | None:
        lm, dec = self.lm_model(), ArithmeticDecoder(payload)
        tokens: list[int] = []
        with lm.lock:
            cum = lm.start() if n else None
            for i in range(n):
                t = dec.decode(cum)
                tokens.append(t)
                if dec.overrun_bits > MAX_OVERRUN_BITS:
                    return None
                if i + 1 < n:
                    cum = lm.after(t)
        return lm.detokenize(tokens)
