// LGM-TSC live view: plays the receiver's phrases (WAV on Web Audio) and frames (JPEG) on one clock.
"use strict";
const S = window.lgmtscView = {frames_received: 0, frames_shown: 0, phrases_received: 0, audio_decoded: 0,
  audio_seconds: 0, audio_clock: false, messages: 0, errors: []};
const face = document.getElementById("face"), idle = document.getElementById("idle");
const statusEl = document.getElementById("status"), enable = document.getElementById("enable");
const AC = window.AudioContext || window.webkitAudioContext;
let ctx = null;
try { ctx = AC ? new AC() : null; } catch (e) { S.errors.push(String(e)); }
if (ctx && ctx.state !== "running") {
  ctx.resume().catch(() => {});
  enable.hidden = false;
}
enable.onclick = () => { if (ctx) ctx.resume().then(() => { enable.hidden = true; }); };

// A phrase plays on the audio clock when sound is allowed, else on the page's own clock.
const audioNow = () => ctx.currentTime;
const wallNow = () => performance.now() / 1000;
const nextStart = {audio: 0, wall: 0};
const phrases = {};  // key -> list of {frame0, n, fps, clock, start (null until scheduled)}
const pending = [];  // frames waiting for their time: {key, i, img}

function schedule(ph, seconds) {
  const useAudio = ctx && ctx.state === "running";
  ph.clock = useAudio ? "audio" : "wall";
  const now = useAudio ? audioNow() : wallNow();
  ph.start = Math.max(now + 0.05, nextStart[ph.clock]);
  nextStart[ph.clock] = ph.start + seconds;
  return ph.start;
}

function b64bytes(s) {
  const bin = atob(s), out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function onPhrase(p) {
  S.phrases_received++;
  const ph = {frame0: p.frame0, n: p.n_frames, fps: p.fps, clock: null, start: null, text: p.text};
  (phrases[p.key] = phrases[p.key] || []).push(ph);
  document.getElementById("speaking").textContent = p.text;
  const seconds = p.n_frames / p.fps;
  if (ctx && ctx.state === "running") {
    const start = schedule(ph, seconds);
    ctx.decodeAudioData(b64bytes(p.wav).buffer).then((buf) => {
      const src = ctx.createBufferSource();
      src.buffer = buf;
      src.connect(ctx.destination);
      src.start(Math.max(start, ctx.currentTime));
      S.audio_decoded++;
      S.audio_seconds += buf.duration;
      S.audio_clock = true;
    }).catch((e) => S.errors.push("audio: " + e));
  } else {
    schedule(ph, seconds);
  }
}

function phraseOf(key, i) {
  const list = phrases[key] || [];
  for (let k = list.length - 1; k >= 0; k--) if (i >= list[k].frame0) return list[k];
  return null;
}

function onFrame(f) {
  S.frames_received++;
  const img = new Image();
  img.src = "data:image/jpeg;base64," + f.jpeg;
  pending.push({key: f.key, i: f.i, img});
}

function tick() {
  let show = null;
  while (pending.length) {
    const fr = pending[0], ph = phraseOf(fr.key, fr.i);
    if (ph && ph.start !== null) {
      const now = ph.clock === "audio" ? audioNow() : wallNow();
      if (ph.start + (fr.i - ph.frame0) / ph.fps > now) break;
    }
    show = pending.shift();
    S.frames_shown++;
  }
  if (show) {
    face.src = show.img.src;
    idle.style.display = "none";
  }
  stats();
}

function esc(s) {
  return String(s ?? "").replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
}

const REFUSED = new Set(["unverified", "replay", "unknown_sender", "undecodable"]);
function onMessage(m) {
  let el = document.getElementById("m-" + m.key);
  if (!el) {
    el = document.createElement("div");
    el.id = "m-" + m.key;
    el.className = "msg";
    document.getElementById("messages").prepend(el);
    S.messages++;
  }
  const cls = m.status === "ok" ? "ok" : (m.status === "decoded" ? "pending" : "bad");
  const label = m.status === "ok" ? "verified" : (m.status === "decoded" ? "verified, rendering" : m.status);
  const lat = m.latency_s || {};
  const rows = [];
  if (m.sent_text !== null && m.sent_text !== undefined) rows.push(["sent", esc(m.sent_text)]);
  if (m.received_diff) rows.push(["received", m.received_diff]);
  else if (m.received_text !== null) rows.push(["received", esc(m.received_text)]);
  if (m.restored_diff && m.restored_text !== m.received_text) rows.push(["after KB", m.restored_diff]);
  el.className = "msg" + (REFUSED.has(m.status) ? " refused" : "");
  el.innerHTML = `<div class="head">#${esc(m.seq)} from <b>${esc(m.user || "sender " + m.sender_id)}</b> · SNR
    ${m.snr_db === null ? "?" : esc(m.snr_db) + " dB"} · prompt class <b>${esc(m.prompt_class || "?")}</b>
    <span class="badge ${cls}">${esc(label)}</span></div>
    <table class="t">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("")}</table>
    ${m.reason ? `<div class="lat">${esc(m.reason)}</div>` : ""}
    <div class="lat">${Object.entries(lat).map(([k, v]) => esc(k.replace(/_s$/, "")) + " " + esc(v) + " s").join(" · ")}</div>`;
  if (REFUSED.has(m.status) && m.stage === "done") {
    const box = document.getElementById("refused");
    if (!box.dataset.any) { box.innerHTML = ""; box.dataset.any = "1"; }
    if (!document.getElementById("r-" + m.key)) {
      const r = document.createElement("div");
      r.id = "r-" + m.key;
      r.innerHTML = `<span class="badge bad">${esc(m.status)}</span> #${esc(m.seq)} sender ${esc(m.sender_id)}:
        ${esc(m.reason)}`;
      box.prepend(r);
    }
  }
}

function stats() {
  document.getElementById("stats").textContent =
    `frames ${S.frames_shown}/${S.frames_received} · phrases ${S.phrases_received} · audio ${S.audio_seconds.toFixed(1)} s` +
    (ctx ? ` (${ctx.state})` : " (no Web Audio)") + ` · messages ${S.messages}`;
}

function connect() {
  const es = new EventSource("events");
  es.addEventListener("hello", (e) => {
    statusEl.textContent = "connected";
    for (const m of JSON.parse(e.data).messages) onMessage(m);
  });
  es.addEventListener("message", (e) => onMessage(JSON.parse(e.data)));
  es.addEventListener("phrase", (e) => onPhrase(JSON.parse(e.data)));
  es.addEventListener("frame", (e) => onFrame(JSON.parse(e.data)));
  es.addEventListener("end", () => {});
  es.onerror = () => { statusEl.textContent = "receiver not reachable; retrying…"; };
  es.onopen = () => { statusEl.textContent = "connected"; };
}
connect();
setInterval(tick, 15);  // not requestAnimationFrame: it stops in hidden tabs, and the sound goes on
