// ddc-sm preview: draws the embedded chart data (times computed in Python by simfile's TimingEngine) on a
// canvas, the way StepMania does with autoplay: receptors at the top, arrows scrolling up, x-mods by beat and
// C-mods by time.  window.ddcPreview exposes seek/play/pause/setChart/setSpeed/notePositions for tests.
(function () {
  'use strict';
  const DATA = JSON.parse(document.getElementById('ddc-data').textContent);
  const COLORS = DATA.colors;
  const ARROW = 64;           // px per beat at x1 (StepMania's ARROW_SIZE) and the arrows' size
  const RECEPTOR_Y = 96;      // centre of the receptors
  const LANES_LEFT = 44;      // room for measure numbers on the left, BPM/stop labels on the right
  const LANES = 4;
  const ROTATION = [-Math.PI / 2, Math.PI, 0, Math.PI / 2];  // left, down, up, right (the shape points up)
  const SPEEDS = ['x1', 'x1.5', 'x2', 'x2.5', 'x3', 'x3.5', 'x4', 'x5', 'x6', 'x7', 'x8', 'C-mod'];

  const $ = (id) => document.getElementById(id);
  const field = $('field'), ctx = field.getContext('2d');
  const minimap = $('minimap'), mctx = minimap.getContext('2d');
  const audio = $('music');
  const state = { chart: DATA.start, mode: 'x', speed: 2, cmod: 400, playing: false, base: 0, stamp: 0,
                  audioBroken: !audio.getAttribute('src') };

  // ---- timing: piecewise-linear (time, beat) points from Python ---------------------------------------
  function timing() { return DATA.charts[state.chart].timing; }
  function beatAt(t) {
    const tm = timing(), p = tm.points;
    if (t < p[0][0]) return p[0][1] + (t - p[0][0]) * tm.first_bps;
    let lo = 0, hi = p.length - 1;                 // last point with time <= t
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (p[mid][0] <= t) lo = mid; else hi = mid - 1; }
    if (lo === p.length - 1) return p[lo][1] + (t - p[lo][0]) * tm.last_bps;
    const [t0, b0] = p[lo], [t1, b1] = p[lo + 1];
    return b0 + (b1 - b0) * (t - t0) / (t1 - t0);
  }
  function timeAt(b) {
    const tm = timing(), p = tm.points;
    if (b <= p[0][1]) return p[0][0] + (b - p[0][1]) / tm.first_bps;
    for (let i = 1; i < p.length; i++) {
      if (p[i][1] >= b) {
        const [t0, b0] = p[i - 1], [t1, b1] = p[i];
        return b1 === b0 ? t0 : t0 + (t1 - t0) * (b - b0) / (b1 - b0);
      }
    }
    const last = p[p.length - 1];
    return last[0] + (b - last[1]) / tm.last_bps;
  }

  // ---- clock: the audio when it plays, else the page's own ------------------------------------------
  function audioUsable() { return !state.audioBroken && audio.readyState > 0; }
  function now() {
    if (state.playing && audioUsable() && !audio.paused) return audio.currentTime;
    if (state.playing) return state.base + (performance.now() - state.stamp) / 1000;
    return state.base;
  }
  function setBase(t) { state.base = t; state.stamp = performance.now(); }
  function syncAudio(t) {  // the music follows the page's clock: playing from t, or paused at t
    if (!audioUsable()) return;
    const d = audio.duration || 0;
    if (t < d) audio.currentTime = t;
    if (state.playing && t < d) {
      if (audio.paused) audio.play().catch(() => { state.audioBroken = true; noteAudio(); });
    } else audio.pause();
  }
  function seek(t) {
    t = Math.max(0, Math.min(DATA.length, Number(t) || 0));
    setBase(t);
    syncAudio(t);
    draw();
    return t;
  }
  function play() {
    if (state.playing) return;
    setBase(now() >= DATA.length ? 0 : now());
    state.playing = true;
    syncAudio(state.base);
    $('play').innerHTML = '&#10074;&#10074; Pause';
    requestAnimationFrame(loop);
  }
  function pause() {
    setBase(now());
    state.playing = false;
    syncAudio(state.base);
    $('play').innerHTML = '&#9654; Play';
    draw();
  }
  function loop() {
    if (!state.playing) return;
    if (now() >= DATA.length) { pause(); return; }
    draw();
    requestAnimationFrame(loop);
  }
  // the chart may outlast the music: the page's clock goes on from where it ended
  audio.addEventListener('ended', () => setBase(Math.max(audio.currentTime, state.base)));
  audio.addEventListener('loadedmetadata', () => { const t = now(); setBase(t); syncAudio(t); noteAudio(); });
  audio.addEventListener('error', () => { state.audioBroken = true; setBase(now()); noteAudio(); });
  function noteAudio() {
    $('audio-note').textContent = state.audioBroken
      ? (DATA.audio ? 'The music could not be loaded (' + DATA.audio + '); playing without sound.' : 'No music file found; playing without sound.')
      : '';
  }

  // ---- where things are on screen --------------------------------------------------------------------
  function laneX(c) { return LANES_LEFT + ARROW * c + ARROW / 2; }
  function yOf(beat, time, t, b) {
    if (state.mode === 'x') return RECEPTOR_Y + (beat - b) * ARROW * state.speed;
    return RECEPTOR_Y + (time - t) * state.cmod / 60 * ARROW;
  }
  // notes as drawn at time t: [{note, y, tailY}] ; hit taps are gone, held holds keep their head on the receptor
  function visible(t) {
    const b = beatAt(t), out = [], h = field.height;
    for (const n of DATA.charts[state.chart].notes) {
      const passing = n.k === 'mine' || n.k === 'fake' || n.fake;
      let y = yOf(n.b, n.t, t, b), tailY = null;
      if (n.et !== undefined) {
        tailY = yOf(n.eb, n.et, t, b);
        if (t >= n.et) continue;
        if (t >= n.t) y = RECEPTOR_Y;
      } else if (!passing && t >= n.t) continue;
      if (Math.max(y, tailY === null ? y : tailY) < -ARROW || y > h + ARROW) continue;
      out.push({ note: n, y: y, tailY: tailY });
    }
    return out;
  }

  // ---- drawing -----------------------------------------------------------------------------------------
  function arrowShape(c, x, y, size) {
    const s = size * 0.92, pts = [[0, -0.48], [0.48, 0], [0.2, 0], [0.2, 0.44], [-0.2, 0.44], [-0.2, 0], [-0.48, 0]];
    ctx.save(); ctx.translate(x, y); ctx.rotate(ROTATION[c]); ctx.beginPath();
    pts.forEach(([px, py], i) => (i ? ctx.lineTo(px * s, py * s) : ctx.moveTo(px * s, py * s)));
    ctx.closePath(); ctx.restore();
  }
  function drawArrow(n, y) {
    const x = laneX(n.c);
    ctx.globalAlpha = n.k === 'fake' || n.fake ? 0.35 : 1;
    if (n.k === 'mine') {
      ctx.beginPath(); ctx.arc(x, y, ARROW * 0.3, 0, 2 * Math.PI);
      ctx.fillStyle = '#1a1a1a'; ctx.fill(); ctx.lineWidth = 6; ctx.strokeStyle = COLORS.mine; ctx.stroke();
      ctx.beginPath(); ctx.arc(x, y, ARROW * 0.1, 0, 2 * Math.PI); ctx.fillStyle = COLORS.mine; ctx.fill();
    } else {
      arrowShape(n.c, x, y, ARROW);
      ctx.fillStyle = COLORS.quant[n.q] || COLORS.quant[192]; ctx.fill();
      ctx.lineWidth = n.k === 'lift' ? 5 : 3; ctx.strokeStyle = n.k === 'lift' ? '#fff' : 'rgba(0,0,0,0.75)'; ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }
  function drawBody(n, y, tailY) {
    const x = laneX(n.c), w = ARROW * 0.56, top = Math.min(y, tailY), len = Math.abs(tailY - y);
    ctx.globalAlpha = n.fake ? 0.35 : 0.85;
    ctx.fillStyle = n.k === 'roll' ? COLORS.roll : COLORS.hold;
    ctx.fillRect(x - w / 2, top, w, len);
    if (n.k === 'roll') {  // a roll's body is striped
      ctx.fillStyle = 'rgba(0,0,0,0.45)';
      for (let s = top + 6; s < top + len; s += 16) ctx.fillRect(x - w / 2, s, w, 6);
    }
    ctx.beginPath(); ctx.arc(x, top + len, w / 2, 0, Math.PI);  // rounded end
    ctx.fillStyle = n.k === 'roll' ? COLORS.roll : COLORS.hold; ctx.fill();
    ctx.globalAlpha = 1;
  }
  function drawGrid(t) {
    const h = field.height, right = LANES_LEFT + LANES * ARROW;
    const b0 = beatAt(t), yFor = (beat) => yOf(beat, timeAt(beat), t, b0);
    // visible beats: find the range by stepping from the current beat both ways
    let first = Math.floor(b0), last = Math.ceil(b0);
    while (yFor(first) > -ARROW && first > b0 - 4096) first -= 1;
    while (yFor(last) < h + ARROW && last < b0 + 4096) last += 1;
    ctx.font = '12px system-ui, sans-serif'; ctx.textBaseline = 'middle';
    for (let beat = Math.max(first, 0); beat <= last; beat++) {
      const y = Math.round(yFor(beat)) + 0.5, measure = beat % 4 === 0;
      ctx.strokeStyle = measure ? '#8a8a8a' : '#262629'; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(LANES_LEFT, y); ctx.lineTo(right, y); ctx.stroke();
      if (measure) { ctx.fillStyle = '#888'; ctx.textAlign = 'right'; ctx.fillText(String(beat / 4), LANES_LEFT - 6, y); }
    }
    const tm = timing(), marks = [];
    tm.bpms.forEach((e) => marks.push([e.beat, '#59d97a', fmt(e.bpm) + ' BPM']));
    tm.stops.forEach((e) => marks.push([e.beat, '#ff6b6b', 'stop ' + e.seconds.toFixed(2) + 's']));
    tm.warps.forEach((e) => marks.push([e.beat, '#c58bff', 'warp ' + fmt(e.beats)]));
    ctx.textAlign = 'left';
    for (const [beat, color, text] of marks) {
      const y = Math.round(yFor(beat)) + 0.5;
      if (y < -20 || y > h + 20) continue;
      ctx.strokeStyle = color; ctx.beginPath(); ctx.moveTo(LANES_LEFT, y); ctx.lineTo(right + 4, y); ctx.stroke();
      ctx.fillStyle = color; ctx.fillText(text, right + 8, y);
    }
  }
  function draw() {
    const t = now(), h = field.height;
    ctx.fillStyle = '#000'; ctx.fillRect(0, 0, field.width, h);
    ctx.fillStyle = '#0d0e12'; ctx.fillRect(LANES_LEFT, 0, LANES * ARROW, h);
    drawGrid(t);
    const shown = visible(t);
    const flash = [0, 0, 0, 0];
    for (const n of DATA.charts[state.chart].notes) {
      if (n.k !== 'mine' && n.k !== 'fake' && !n.fake && n.t <= t && t - n.t < 0.12) flash[n.c] = 1 - (t - n.t) / 0.12;
      if (n.et !== undefined && n.t <= t && t < n.et) flash[n.c] = Math.max(flash[n.c], 0.6);
    }
    for (let c = 0; c < LANES; c++) {  // receptors
      arrowShape(c, laneX(c), RECEPTOR_Y, ARROW);
      ctx.fillStyle = 'rgba(255,255,255,' + (0.06 + 0.5 * flash[c]) + ')'; ctx.fill();
      ctx.lineWidth = 3; ctx.strokeStyle = '#8a8f99'; ctx.stroke();
    }
    for (const s of shown) if (s.tailY !== null) drawBody(s.note, s.y, s.tailY);
    for (let i = shown.length - 1; i >= 0; i--) drawArrow(shown[i].note, shown[i].y);  // earlier notes on top
    drawMinimap(t);
    const bps = (beatAt(t + 0.001) - beatAt(t)) * 1000;
    $('clock').textContent = clock(t) + ' / ' + clock(DATA.length);
    $('where').textContent = 'beat ' + beatAt(t).toFixed(2) + (bps > 0 ? ' · ' + fmt(bps * 60) + ' BPM' : ' · stop');
  }
  function drawMinimap(t) {  // steps per second of each measure over the whole song
    const w = minimap.width, h = minimap.height, d = DATA.charts[state.chart].density, L = DATA.length;
    const peak = Math.max(1, ...d.map((m) => m[2]));
    mctx.fillStyle = '#0c0d10'; mctx.fillRect(0, 0, w, h);
    mctx.fillStyle = '#5b8def';
    for (const [t0, t1, nps] of d) {
      const x0 = w * t0 / L, bh = (h - 6) * nps / peak;
      mctx.fillRect(x0, h - bh, Math.max(1, w * t1 / L - x0), bh);
    }
    const x = Math.round(w * t / L) + 0.5;
    mctx.strokeStyle = '#ffdf5d'; mctx.lineWidth = 2; mctx.beginPath(); mctx.moveTo(x, 0); mctx.lineTo(x, h); mctx.stroke();
  }
  function fmt(v) { return String(Math.round(v * 1000) / 1000); }
  function clock(t) {
    const m = Math.floor(t / 60), s = t - 60 * m;
    return m + ':' + (s < 10 ? '0' : '') + s.toFixed(2);
  }

  // ---- controls ----------------------------------------------------------------------------------------
  function setChart(which) {
    let i = typeof which === 'number' ? which : DATA.charts.findIndex((c) => c.difficulty.toLowerCase() === String(which).toLowerCase() || c.label === which);
    if (i < 0 || i >= DATA.charts.length) return false;
    state.chart = i; $('chart').value = String(i);
    const st = DATA.charts[i].stats, tm = DATA.charts[i].timing, c = DATA.charts[i];
    const rows = [['Steps', st.steps, 'Jumps', st.jumps], ['Holds', st.holds, 'Hands', st.hands],
                  ['Rolls', st.rolls, 'Mines', st.mines], ['NPS avg', st.nps_avg, 'NPS peak', st.nps_peak],
                  ['Meter', c.meter, 'Length', clock(DATA.length)]];
    $('stats').innerHTML = rows.map((r) => '<tr>' + r.map((v) => '<td>' + v + '</td>').join('') + '</tr>').join('');
    const bpms = tm.bpms.map((e) => e.bpm), lo = Math.min(...bpms), hi = Math.max(...bpms);
    $('bpm').textContent = 'BPM ' + (lo === hi ? fmt(lo) : fmt(lo) + '–' + fmt(hi)) +
      (tm.stops.length ? ' · ' + tm.stops.length + ' stop' + (tm.stops.length > 1 ? 's' : '') : '') +
      (tm.warps.length ? ' · ' + tm.warps.length + ' warp' + (tm.warps.length > 1 ? 's' : '') : '');
    draw();
    return true;
  }
  function setSpeed(value) {
    const v = String(value).trim().toLowerCase();
    if (v.startsWith('c')) {
      const bpm = parseFloat(v.slice(1).replace('-mod', '')) || state.cmod;
      state.mode = 'c'; state.cmod = bpm; $('speed').value = 'C-mod'; $('cmod').hidden = false; $('cmod').value = bpm;
    } else {
      state.mode = 'x'; state.speed = parseFloat(v.replace('x', '')) || 1;
      $('speed').value = SPEEDS.includes('x' + state.speed) ? 'x' + state.speed : 'x2'; $('cmod').hidden = true;
    }
    draw();
  }
  function notePositions() {
    const rect = field.getBoundingClientRect();
    return visible(now()).map((s) => ({ c: s.note.c, t: s.note.t, b: s.note.b, k: s.note.k, q: s.note.q,
      x: laneX(s.note.c), y: s.y, tailY: s.tailY, pageX: rect.left + window.scrollX + laneX(s.note.c),
      pageY: rect.top + window.scrollY + s.y }));
  }

  function init() {
    document.title = DATA.title + (DATA.artist ? ' — ' + DATA.artist : '') + ' · ddc-sm preview';
    $('title').textContent = DATA.title + (DATA.subtitle ? ' ' + DATA.subtitle : '');
    $('artist').textContent = DATA.artist;
    $('chart').innerHTML = DATA.charts.map((c, i) => '<option value="' + i + '"></option>').join('');
    DATA.charts.forEach((c, i) => { $('chart').options[i].textContent = c.label; });
    $('speed').innerHTML = SPEEDS.map((s) => '<option>' + s + '</option>').join('');
    field.height = Math.max(480, window.innerHeight - 24);
    $('chart').addEventListener('change', (e) => { setChart(Number(e.target.value)); e.target.blur(); });
    $('speed').addEventListener('change', (e) => { setSpeed(e.target.value === 'C-mod' ? 'C' + $('cmod').value : e.target.value); e.target.blur(); });
    $('cmod').addEventListener('change', (e) => setSpeed('C' + e.target.value));
    $('play').addEventListener('click', () => (state.playing ? pause() : play()));
    field.addEventListener('click', () => (state.playing ? pause() : play()));
    minimap.addEventListener('click', (e) => {
      const r = minimap.getBoundingClientRect();
      seek((e.clientX - r.left) / r.width * DATA.length);
    });
    document.addEventListener('keydown', (e) => {
      if (e.target.tagName === 'INPUT') return;
      if (e.code === 'Space') { e.preventDefault(); state.playing ? pause() : play(); }
      else if (e.code === 'ArrowLeft') seek(now() - 2);
      else if (e.code === 'ArrowRight') seek(now() + 2);
    });
    // #t=SECONDS&chart=Hard&speed=x3 (or C450) opens the page there
    const params = new URLSearchParams(location.hash.slice(1));
    setSpeed(params.get('speed') || 'x2');
    if (!params.get('chart') || !setChart(params.get('chart'))) setChart(state.chart);
    seek(parseFloat(params.get('t')) || 0);
    noteAudio();
  }

  window.ddcPreview = { seek, play, pause, setChart, setSpeed, notePositions, time: now, beatAt, timeAt,
    layout: { receptorY: RECEPTOR_Y, arrowSize: ARROW, lanesLeft: LANES_LEFT, lanes: LANES }, data: DATA };
  init();
})();
