"""The two ends' records of a conversation, for the LM coder's conversation context (docs/textcoder.md).

- ``SenderConversation`` (transmitter): the texts it sent and which of them the receiver holds: a message is held
  once its *verified* SNR report came back (``link.feedback``: authenticated, and the receiver reports verified
  only when it deciphered and decoded the text). An authentic *unverified* report on message ``x`` (its tag failed,
  or the receiver could not decode it, e.g. it lost its context in a restart) makes the transmitter forget every
  message up to ``x``: later contexts start after ``x``, so one loss costs compression for a while, never
  decodability.
- ``ReceiverConversations`` (receiver): per sender, the texts it verified and decoded.

Both bounded (``keep`` messages per sender), both thread-safe (the transmitter's reports arrive on a thread of their
own).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from .coder import LinkContext

log = logging.getLogger(__name__)

KEEP = 256  # messages remembered per sender: far more than a context names (context_messages, 16 by default)


class SenderConversation:
    def __init__(self, keep: int = KEEP):
        self.keep = int(keep)
        self._sent: OrderedDict[int, str] = OrderedDict()
        self._held: dict[int, str] = {}
        self._lock = threading.Lock()
        self.resets = 0  # unverified reports that restarted the context

    def sent(self, seq: int, text: str) -> None:
        with self._lock:
            self._sent[int(seq)] = text
            while len(self._sent) > self.keep:
                old, _ = self._sent.popitem(last=False)
                self._held.pop(old, None)

    def report(self, seq: int, verified: bool) -> None:
        """An authentic report on message ``seq``: the receiver holds it (verified), or it does not and may have
        lost earlier ones too (not verified)."""
        seq = int(seq)
        with self._lock:
            if seq not in self._sent:
                return
            if verified:
                self._held[seq] = self._sent[seq]
            else:
                dropped = [q for q in self._held if q <= seq]
                for q in dropped:
                    del self._held[q]
                self.resets += bool(dropped)

    def context(self, seq: int) -> LinkContext:
        """The view for coding message ``seq``."""
        with self._lock:
            return LinkContext(int(seq), dict(self._held))


class ReceiverConversations:
    def __init__(self, keep: int = KEEP):
        self.keep = int(keep)
        self._texts: dict[int, OrderedDict[int, str]] = {}
        self._lock = threading.Lock()

    def add(self, sender_id: int, seq: int, text: str) -> None:
        """A message of ``sender_id`` this receiver verified and decoded."""
        with self._lock:
            texts = self._texts.setdefault(int(sender_id), OrderedDict())
            texts[int(seq)] = text
            texts.move_to_end(int(seq))
            while len(texts) > self.keep:
                texts.popitem(last=False)

    def context(self, sender_id: int, seq: int) -> LinkContext:
        """The view for decoding message ``seq`` of ``sender_id``."""
        with self._lock:
            return LinkContext(int(seq), dict(self._texts.get(int(sender_id), {})))


class ContextPrewarmer:
    """Evaluates, on a thread of its own, the context the next message will probably be coded after, while the
    link waits for the next utterance, so that coding it does not pay for it (``TextCoder.prepare_link``). Only the
    newest request is kept. Time only: the bytes never depend on what the LM's cache holds."""

    def __init__(self, coder):
        self.coder = coder
        self._want: LinkContext | None = None
        self._cv = threading.Condition()
        self.done = 0
        threading.Thread(target=self._run, name="text-context", daemon=True).start()

    def request(self, context: LinkContext) -> None:
        with self._cv:
            self._want = context
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while self._want is None:
                    self._cv.wait()
                ctx, self._want = self._want, None
            try:
                self.coder.prepare_link(ctx)
                self.done += 1
            except Exception as e:  # it only saves time: the message is coded all the same
                log.debug("text context not prepared: %s", e)
