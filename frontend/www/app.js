// The drawing page: a canvas (Pointer Events: mouse, touch, pen) whose PNG
// goes to POST /predict?probs=true&explain=true while you draw (debounced,
// at most one request in flight) and at the end of every stroke; or a
// photo, picked (#file), taken with the phone's camera (#camera) or
// dropped, sent as it is. No framework, no
// inline script or style (the page is served with a strict CSP).
'use strict';

(function () {
  const PREDICT = '/predict?probs=true&explain=true';
  const DEBOUNCE_MS = 120; // while drawing: at most one request per this long
  const LINE = 1 / 14; // stroke width, a fraction of the canvas side (docs/images.md)

  const $ = (id) => document.getElementById(id);
  const pad = $('pad');
  const ctx = pad.getContext('2d');
  const photo = $('photo');
  const result = $('result');
  const digitEl = $('digit');
  const confEl = $('confidence');
  const seen = $('model-input');
  const errEl = $('error');
  const metaEl = $('meta');
  const statusEl = $('status');
  const bars = Array.from(document.querySelectorAll('#bars li'));
  const undoBtn = $('undo');
  const clearBtn = $('clear');
  const fileIn = $('file');
  const cameraIn = $('camera');

  // The drawing: strokes of points in canvas pixels; redrawn for undo.
  let strokes = [];
  let current = null; // the stroke under the pointer
  let version = 0; // bumps on every change of what would be sent
  let photoFile = null; // a photo replaces the drawing until you draw again
  let photoUrl = null;

  // Requests: one in flight; `wanted` says the newest version needs one.
  let inflight = false;
  let wanted = false;
  let announce = false; // the next answer goes to the live region
  let timer = 0;

  function colours() {
    const css = getComputedStyle(document.documentElement);
    return {
      paper: css.getPropertyValue('--paper').trim() || '#fff',
      ink: css.getPropertyValue('--ink').trim() || '#000',
    };
  }

  function redraw() {
    const c = colours();
    ctx.fillStyle = c.paper;
    ctx.fillRect(0, 0, pad.width, pad.height);
    ctx.strokeStyle = c.ink;
    ctx.fillStyle = c.ink;
    ctx.lineWidth = pad.width * LINE;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    for (const s of strokes) drawStroke(s);
  }

  function drawStroke(s) {
    if (s.length === 1) {
      ctx.beginPath();
      ctx.arc(s[0][0], s[0][1], ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.beginPath();
    ctx.moveTo(s[0][0], s[0][1]);
    // Quadratic curves through the midpoints: smooth, and the ends stay put.
    for (let i = 1; i < s.length - 1; i++) {
      const mx = (s[i][0] + s[i + 1][0]) / 2;
      const my = (s[i][1] + s[i + 1][1]) / 2;
      ctx.quadraticCurveTo(s[i][0], s[i][1], mx, my);
    }
    const last = s[s.length - 1];
    ctx.lineTo(last[0], last[1]);
    ctx.stroke();
  }

  function toCanvas(ev) {
    const r = pad.getBoundingClientRect();
    return [((ev.clientX - r.left) / r.width) * pad.width,
      ((ev.clientY - r.top) / r.height) * pad.height];
  }

  function changed() {
    version++;
    pad.dataset.version = String(version);
    undoBtn.disabled = strokes.length === 0;
    clearBtn.disabled = strokes.length === 0 && !photoFile;
  }

  function leavePhoto() {
    if (!photoFile) return;
    photoFile = null;
    if (photoUrl) URL.revokeObjectURL(photoUrl);
    photoUrl = null;
    photo.hidden = true;
    photo.removeAttribute('src');
    pad.hidden = false;
  }

  // ---- drawing ----------------------------------------------------------

  pad.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0 && ev.pointerType === 'mouse') return;
    ev.preventDefault();
    leavePhoto();
    pad.setPointerCapture(ev.pointerId);
    current = { id: ev.pointerId, pts: [toCanvas(ev)] };
    strokes.push(current.pts);
    redraw();
    changed();
    schedule();
  });

  pad.addEventListener('pointermove', (ev) => {
    if (!current || ev.pointerId !== current.id) return;
    ev.preventDefault();
    const evs = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
    for (const e of (evs.length ? evs : [ev])) current.pts.push(toCanvas(e));
    redraw();
    changed();
    schedule();
  });

  function endStroke(ev) {
    if (!current || ev.pointerId !== current.id) return;
    current = null;
    clearTimeout(timer);
    timer = 0;
    announce = true;
    request();
  }
  pad.addEventListener('pointerup', endStroke);
  pad.addEventListener('pointercancel', endStroke);

  function undo() {
    if (!strokes.length || current) return;
    strokes.pop();
    redraw();
    changed();
    announce = true;
    if (strokes.length) request(); else showEmpty();
  }

  function clear() {
    if (current) return;
    strokes = [];
    leavePhoto();
    redraw();
    changed();
    showEmpty();
  }

  undoBtn.addEventListener('click', undo);
  clearBtn.addEventListener('click', clear);
  document.addEventListener('keydown', (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && !ev.shiftKey && ev.key.toLowerCase() === 'z') {
      ev.preventDefault();
      undo();
    } else if (ev.key === 'Escape') {
      clear();
    }
  });

  // Follow the colour scheme: the canvas is repainted in the new colours.
  if (window.matchMedia) {
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    const repaint = () => { redraw(); if (strokes.length) { changed(); request(); } };
    if (mq.addEventListener) mq.addEventListener('change', repaint);
  }

  // ---- photos -------------------------------------------------------------

  function usePhoto(file) {
    if (!file) return;
    strokes = [];
    redraw();
    if (photoUrl) URL.revokeObjectURL(photoUrl);
    photoFile = file;
    photoUrl = URL.createObjectURL(file);
    photo.src = photoUrl;
    photo.hidden = false;
    pad.hidden = true;
    changed();
    announce = true;
    request();
  }

  for (const input of [fileIn, cameraIn]) {
    input.addEventListener('change', () => {
      usePhoto(input.files && input.files[0]);
      input.value = '';
    });
  }
  photo.addEventListener('error', () => { photo.alt = 'The photo you sent (no preview)'; });

  const drop = $('drop');
  ['dragenter', 'dragover'].forEach((t) => drop.addEventListener(t, (ev) => {
    ev.preventDefault();
    drop.classList.add('dragging');
  }));
  ['dragleave', 'drop'].forEach((t) => drop.addEventListener(t, () => {
    drop.classList.remove('dragging');
  }));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    const f = ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files[0];
    usePhoto(f);
  });

  // ---- requests -----------------------------------------------------------

  // While the pen moves, ask DEBOUNCE_MS after the first change that has
  // no request planned: a continuous stroke gets an answer every so often,
  // not only when it pauses; the one-in-flight rule absorbs slow answers.
  function schedule() {
    if (timer) return;
    timer = setTimeout(() => { timer = 0; request(); }, DEBOUNCE_MS);
  }

  function busy() {
    result.setAttribute('aria-busy', inflight || wanted || current ? 'true' : 'false');
  }

  function request() {
    wanted = true;
    busy();
    if (!inflight) send();
  }

  function canvasBlob() {
    return new Promise((resolve) => pad.toBlob(resolve, 'image/png'));
  }

  async function send() {
    wanted = false;
    if (!photoFile && strokes.length === 0) { busy(); return; }
    inflight = true;
    busy();
    const sent = version;
    const speak = announce;
    announce = false;
    const t0 = performance.now();
    let answer;
    try {
      const body = new FormData();
      if (photoFile) body.append('file', photoFile, photoFile.name || 'photo');
      else body.append('file', await canvasBlob(), 'drawing.png');
      const res = await fetch(PREDICT, { method: 'POST', body });
      const text = await res.text();
      let json = null;
      try { json = JSON.parse(text); } catch (e) { json = null; }
      answer = { ok: res.ok, status: res.status, json, text,
        ms: performance.now() - t0, model: res.headers.get('X-Model-Version') };
    } catch (e) {
      answer = { ok: false, status: 0, json: null, text: String(e.message || e),
        ms: performance.now() - t0, model: null };
    }
    inflight = false;
    // A clear while the request was out makes its answer meaningless.
    if (photoFile || strokes.length) show(answer, sent, speak || announce);
    if (wanted) send(); else busy();
  }

  // ---- showing answers ------------------------------------------------------

  function pct(p) {
    return p >= 0.995 ? '100%' : p < 0.005 ? (p > 0 ? '<1%' : '0%') : Math.round(p * 100) + '%';
  }

  function setBars(probs, winner) {
    bars.forEach((li, d) => {
      const p = probs ? probs[d] : 0;
      li.querySelector('.fill').style.setProperty('--p', String(p));
      li.querySelector('.v').textContent = probs ? pct(p) : '\u2013';
      li.dataset.p = probs ? String(p) : '';
      li.classList.toggle('win', d === winner);
      if (d === winner) li.setAttribute('aria-current', 'true');
      else li.removeAttribute('aria-current');
    });
  }

  function show(a, sent, speak) {
    result.dataset.version = String(sent);
    const j = a.json || {};
    if (a.ok && typeof j.digit === 'number') {
      errEl.hidden = true;
      errEl.textContent = '';
      digitEl.textContent = String(j.digit);
      confEl.textContent = `${pct(j.confidence)} sure`;
      setBars(Array.isArray(j.probabilities) ? j.probabilities : null, j.digit);
      if (j.model_input) {
        seen.src = 'data:image/png;base64,' + j.model_input;
        seen.alt = `What the model saw: the 28 by 28 image it read as ${j.digit}`;
        seen.hidden = false;
      }
      if (speak) statusEl.textContent = `Read as ${j.digit}, ${pct(j.confidence)} sure.`;
    } else {
      const msg = j.detail || a.text || `HTTP ${a.status}`;
      errEl.textContent = a.status ? `${msg} (HTTP ${a.status})` : `No answer: ${msg}`;
      errEl.hidden = false;
      digitEl.textContent = '\u2013';
      confEl.textContent = 'No answer.';
      setBars(null, -1);
      seen.hidden = true;
      if (speak) statusEl.textContent = `Error: ${msg}`;
    }
    metaEl.textContent = `${Math.round(a.ms)} ms` + (a.model ? ` \u00b7 model ${a.model}` : '');
  }

  function showEmpty() {
    result.dataset.version = String(version);
    digitEl.textContent = '\u2013';
    confEl.textContent = 'Draw a digit to start.';
    errEl.hidden = true;
    setBars(null, -1);
    seen.hidden = true;
    metaEl.textContent = '';
    busy();
  }

  redraw();
  changed();
  showEmpty();
})();
