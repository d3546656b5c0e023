// rscnet demo page: single image -> /v1/smpl + /v1/texture (GLB in three.js); frames/video -> /v1/sequence.
// Every request goes to this service (same origin); API errors are shown as the API's own message.
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/GLTFLoader.js';
import { OrbitControls } from 'three/addons/OrbitControls.js';

const ROOT = document.body.dataset.root || '';
const $ = (id) => document.getElementById(id);
const status = (window.rscnetDemo = { skeleton: false, glb: false, meshes: 0, error: null, sequence: false });

const COCO = ['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
  'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee',
  'left_ankle', 'right_ankle'];
const EDGES = [[0, 1], [0, 2], [1, 3], [2, 4], [5, 6], [5, 7], [7, 9], [6, 8], [8, 10], [5, 11], [6, 12],
  [11, 12], [11, 13], [13, 15], [12, 14], [14, 16]];
const LEFT = '#1f77b4', RIGHT = '#d62728', MID = '#2ca02c';
const side = (j) => (j === 0 ? MID : j % 2 === 1 ? LEFT : RIGHT);
const edgeColour = ([a, b]) => (side(a) === side(b) ? side(a) : MID);
const ANSWER_COLOURS = { gru: '#9467bd', filter: '#ff7f0e', single: '#7f7f7f' };

let models = null;

// ------------------------------------------------------------------------------------------ API
function headers() {
  const key = $('api-key').value.trim();
  return key ? { 'X-API-Key': key } : {};
}

class ApiError extends Error {}

async function api(path, form) {
  const t0 = performance.now();
  let res;
  try {
    res = await fetch(ROOT + path, { method: form ? 'POST' : 'GET', body: form, headers: headers() });
  } catch (e) {
    throw new ApiError(`cannot reach the service (${e.message})`);
  }
  const ms = performance.now() - t0;
  if (!res.ok) {
    let text = `HTTP ${res.status}`;
    try {
      const body = await res.json();
      text = `${res.status} ${body.error || ''}: ${body.detail || JSON.stringify(body)}`;
    } catch (_) { /* not JSON: keep the status */ }
    if (res.status === 401) $('key-box').hidden = false;
    throw new ApiError(text);
  }
  return { res, ms };
}

function showError(err) {
  const box = $('error');
  if (!err) { box.hidden = true; box.textContent = ''; status.error = null; return; }
  const text = err instanceof ApiError ? `API error ${err.message}` : `Error: ${err.message || err}`;
  box.textContent = text;
  box.hidden = false;
  status.error = text;
}

async function loadModels() {
  try {
    const { res } = await api('/v1/models');
    models = await res.json();
    const ck = models.checkpoint || {};
    const seq = (models.modules && models.modules.sequence) || {};
    const tex = (models.modules && models.modules.texture) || {};
    $('model-info').textContent = `${models.body_model.name} · checkpoint ${ck.id}${ck.is_trained ? '' : ' (UNTRAINED)'}`
      + ` · input ${models.network.input_size} px · video: ${seq.gru_loaded ? 'GRU' : 'filter only'}`
      + ` · texture: ${tex.loaded ? tex.texture_model : 'flat default'}`;
    $('ans-gru').disabled = !seq.gru_loaded;
    showError(null);
  } catch (e) {
    $('model-info').textContent = 'model info unavailable';
    showError(e);
    if (String(e.message).startsWith('503')) setTimeout(loadModels, 2000);
  }
}

function inputSize() {
  return (models && models.network && models.network.input_size) || '?';
}

function resolutionRange(index, cropSize) {
  const ranges = models && models.network && models.network.resolution_ranges;
  const r = ranges && ranges.find((x) => x.index === index);
  if (r) {
    const hi = r.max_size_exclusive;
    const range = hi == null ? `≥ ${r.min_size} px` : `${r.min_size}–${hi - 1} px`;
    return `range ${index} (${range} crops; this crop ${cropSize} px, resized to the ${inputSize()}-px network input)`;
  }
  const b = models && models.network && models.network.resolution_bounds;
  if (!b || index == null || index < 0 || index >= b.length) return `index ${index}`;
  const hi = index === 0 ? null : b[index - 1];
  const lo = index === b.length - 1 ? null : b[index];
  const range = lo == null ? `< ${hi} px` : hi == null ? `≥ ${lo} px` : `${lo}–${hi - 1} px`;
  return `range ${index} (${range}; this crop ${cropSize} px, resized to the ${inputSize()}-px network input)`;
}

// ------------------------------------------------------------------------------------------ drawing
function drawSkeleton(ctx, kp, scale, ox = 0, oy = 0, width = 2) {
  const p = (j) => [ox + kp[j][0] * scale, oy + kp[j][1] * scale];
  ctx.lineWidth = width;
  for (const e of EDGES) {
    ctx.strokeStyle = edgeColour(e);
    ctx.beginPath();
    ctx.moveTo(...p(e[0]));
    ctx.lineTo(...p(e[1]));
    ctx.stroke();
  }
  for (let j = 0; j < kp.length; j++) {
    ctx.fillStyle = side(j);
    ctx.beginPath();
    ctx.arc(...p(j), width + 1.5, 0, 2 * Math.PI);
    ctx.fill();
  }
}

function fitScale(w, h, cw, ch) { return Math.min(cw / w, ch / h); }

function makeViewer(container) {
  let renderer;
  try {
    renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
  } catch (e) {
    container.textContent = `WebGL is not available in this browser: ${e.message}`;
    return null;
  }
  const w = container.clientWidth, h = container.clientHeight;
  renderer.setSize(w, h);
  renderer.setClearColor(0xf0f0f0);
  container.appendChild(renderer.domElement);
  const scene = new THREE.Scene();
  scene.add(new THREE.HemisphereLight(0xffffff, 0x666666, 2.0));
  const sun = new THREE.DirectionalLight(0xffffff, 1.5);
  sun.position.set(1, 2, 3);
  scene.add(sun);
  const camera = new THREE.PerspectiveCamera(35, w / h, 0.01, 100);
  camera.position.set(0, 0, 4);
  const controls = new OrbitControls(camera, renderer.domElement);
  controls.enableDamping = false;
  const render = () => renderer.render(scene, camera);
  controls.addEventListener('change', render);
  const frame = (object) => {
    const box = new THREE.Box3().setFromObject(object);
    const size = box.getSize(new THREE.Vector3()).length() || 1;
    const c = box.getCenter(new THREE.Vector3());
    controls.target.copy(c);
    camera.position.set(c.x, c.y, c.z + size * 1.7);
    camera.near = size / 100; camera.far = size * 100;
    camera.updateProjectionMatrix();
    controls.update();
  };
  render();
  return { renderer, scene, camera, controls, render, frame, current: null };
}

// ------------------------------------------------------------------------------------------ single image
const img = { bitmap: null, file: null, box: null, drag: null, scale: 1, crop: null, json: null, glb: null };
let viewer = null;

function drawSource() {
  const c = $('source'), ctx = c.getContext('2d');
  ctx.clearRect(0, 0, c.width, c.height);
  if (!img.bitmap) return;
  img.scale = fitScale(img.bitmap.width, img.bitmap.height, c.width, c.height);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(img.bitmap, 0, 0, img.bitmap.width * img.scale, img.bitmap.height * img.scale);
  const b = img.drag || img.box;
  if (b) {
    ctx.strokeStyle = '#06c'; ctx.lineWidth = 2;
    ctx.strokeRect(b[0] * img.scale, b[1] * img.scale, b[2] * img.scale, b[3] * img.scale);
  }
}

async function setImageFile(file) {
  showError(null);
  img.file = file; img.box = null; img.bitmap = null;
  try {
    img.bitmap = await createImageBitmap(file);
  } catch (_) {
    img.bitmap = null; // the browser cannot read it: it goes to the API as it is, which says what is wrong
  }
  drawSource();
  $('run').disabled = false;
  runImage();
}

function boxFromEvent(ev) {
  const r = $('source').getBoundingClientRect();
  return [(ev.clientX - r.left) / img.scale, (ev.clientY - r.top) / img.scale];
}

function setupBoxDrawing() {
  const c = $('source');
  let start = null;
  c.addEventListener('mousedown', (ev) => { if (img.bitmap) { start = boxFromEvent(ev); img.drag = null; } });
  c.addEventListener('mousemove', (ev) => {
    if (!start) return;
    const [x, y] = boxFromEvent(ev);
    const W = img.bitmap.width, H = img.bitmap.height;
    const x0 = Math.max(0, Math.min(start[0], x)), y0 = Math.max(0, Math.min(start[1], y));
    const x1 = Math.min(W, Math.max(start[0], x)), y1 = Math.min(H, Math.max(start[1], y));
    img.drag = [x0, y0, x1 - x0, y1 - y0];
    drawSource();
  });
  window.addEventListener('mouseup', () => {
    if (!start) return;
    start = null;
    if (img.drag && img.drag[2] >= 4 && img.drag[3] >= 4) img.box = img.drag.map(Math.round);
    img.drag = null;
    drawSource();
  });
  $('clear-box').addEventListener('click', () => { img.box = null; drawSource(); });
}

// The crop inside the box (or the whole image), its longer side downsized to the "camera resolution".
async function cropBlob() {
  if (!img.bitmap) return { blob: img.file, width: null, height: null };
  const [x, y, w, h] = img.box || [0, 0, img.bitmap.width, img.bitmap.height];
  const target = Number($('res').value);
  const k = $('res-on').checked ? Math.min(1, target / Math.max(w, h)) : 1;
  const cw = Math.max(1, Math.round(w * k)), ch = Math.max(1, Math.round(h * k));
  const canvas = document.createElement('canvas');
  canvas.width = cw; canvas.height = ch;
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = true; ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(img.bitmap, x, y, w, h, 0, 0, cw, ch);
  const blob = await new Promise((ok) => canvas.toBlob(ok, 'image/png'));
  return { blob, width: cw, height: ch, canvas };
}

function drawOverlay(crop, result) {
  const c = $('overlay'), ctx = c.getContext('2d');
  ctx.clearRect(0, 0, c.width, c.height);
  if (!crop.canvas) return;
  const s = fitScale(crop.width, crop.height, c.width, c.height);
  ctx.imageSmoothingEnabled = false; // show the pixels the network saw
  ctx.drawImage(crop.canvas, 0, 0, crop.width * s, crop.height * s);
  drawSkeleton(ctx, result.keypoints2d.coco17, s, 0, 0, 3);
}

function fact(rows) {
  $('facts').innerHTML = '';
  for (const [k, v] of rows) {
    const tr = document.createElement('tr');
    const a = document.createElement('td'); a.textContent = k;
    const b = document.createElement('td'); b.textContent = v;
    tr.append(a, b);
    $('facts').appendChild(tr);
  }
}

const fmt = (ms) => `${ms.toFixed(1)} ms`;

async function runImage() {
  if (!img.file) return;
  showError(null);
  status.skeleton = false; status.glb = false; status.meshes = 0;
  for (const id of ['dl-glb', 'dl-obj', 'dl-json']) $(id).disabled = true;
  // Nothing of the previous answer stays on screen.
  const oc = $('overlay');
  oc.getContext('2d').clearRect(0, 0, oc.width, oc.height);
  fact([]);
  img.json = null; img.glb = null;
  if (viewer && viewer.current) { viewer.scene.remove(viewer.current); viewer.current = null; viewer.render(); }
  $('run').disabled = true;
  try {
    const crop = await cropBlob();
    img.crop = crop;
    const form = new FormData();
    form.append('images', crop.blob, 'crop.png');
    const { res, ms } = await api('/v1/smpl', form);
    const json = await res.json();
    img.json = json;
    const r = json.results[0];
    if (!r.ok) throw new ApiError(`${r.status || ''} ${r.error}: ${r.detail}`);
    if (!crop.canvas) { crop.width = null; }
    drawOverlay(crop, r);
    status.skeleton = !!crop.canvas;
    $('dl-json').disabled = false;
    const rows = [
      ['uploaded crop', crop.width ? `${crop.width} × ${crop.height} px${img.box ? ' (from the drawn box)' : ''}` : 'the file as it is'],
      ['resolution range used', resolutionRange(r.resolution_index, r.crop_size)],
      ['server timings', Object.entries(r.timings_ms).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')],
      ['/v1/smpl round trip', fmt(ms)],
      ['body model · checkpoint', `${json.body_model} · ${json.checkpoint_id}${json.is_trained === false ? ' (untrained)' : ''}`],
    ];
    fact(rows);
    const tform = new FormData();
    tform.append('image', crop.blob, 'crop.png');
    tform.append('format', 'glb');
    const t = await api('/v1/texture', tform);
    img.glb = await t.res.arrayBuffer();
    rows.push(['/v1/texture (GLB) round trip', `${fmt(t.ms)} · ${(img.glb.byteLength / 1024).toFixed(0)} KiB · texture ${t.res.headers.get('X-Texture')}`]);
    fact(rows);
    await showGlb(img.glb);
    $('dl-glb').disabled = false; $('dl-obj').disabled = false;
  } catch (e) {
    showError(e);
  } finally {
    $('run').disabled = !img.file;
  }
}

function showGlb(buffer) {
  if (!viewer) viewer = makeViewer($('view3d'));
  if (!viewer) throw new Error('WebGL is not available: cannot show the 3D body');
  return new Promise((resolve, reject) => {
    new GLTFLoader().parse(buffer, '', (gltf) => {
      if (viewer.current) viewer.scene.remove(viewer.current);
      viewer.current = gltf.scene;
      let meshes = 0;
      gltf.scene.traverse((o) => { if (o.isMesh) { meshes += 1; if (o.material) o.material.side = THREE.DoubleSide; } });
      viewer.scene.add(gltf.scene);
      viewer.frame(gltf.scene);
      viewer.render();
      status.meshes = meshes;
      status.glb = meshes > 0;
      resolve();
    }, (err) => reject(new Error(`the GLB could not be read: ${err.message || err}`)));
  });
}

function download(data, name, type) {
  const url = URL.createObjectURL(data instanceof Blob ? data : new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url; a.download = name;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function setupImage() {
  const drop = $('drop');
  $('file').addEventListener('change', (ev) => { if (ev.target.files[0]) setImageFile(ev.target.files[0]); });
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault(); drop.classList.remove('over');
    if (ev.dataTransfer.files[0]) setImageFile(ev.dataTransfer.files[0]);
  });
  $('res').addEventListener('input', () => { $('res-out').textContent = `${$('res').value} px`; });
  $('run').addEventListener('click', runImage);
  setupBoxDrawing();
  $('dl-glb').addEventListener('click', () => download(img.glb, 'body.glb', 'model/gltf-binary'));
  $('dl-json').addEventListener('click', () => download(JSON.stringify(img.json, null, 1), 'smpl.json', 'application/json'));
  $('dl-obj').addEventListener('click', async () => {
    try {
      const form = new FormData();
      form.append('image', img.crop.blob, 'crop.png');
      form.append('format', 'obj');
      const { res } = await api('/v1/texture', form);
      download(await res.blob(), 'body_obj.zip', 'application/zip');
    } catch (e) { showError(e); }
  });
}

// ------------------------------------------------------------------------------------------ video
const vid = { files: [], frames: [], video: null, answers: {}, index: 0, timer: null, viewer: null, points: null };

function currentAnswer() {
  const want = document.querySelector('input[name=answer]:checked').value;
  return vid.answers[want] ? want : Object.keys(vid.answers)[0];
}

async function setVideoFiles(files) {
  showError(null);
  vid.files = Array.from(files);
  vid.frames = []; vid.video = null;
  const isVideo = vid.files.length === 1 && !vid.files[0].type.startsWith('image/');
  if (isVideo) {
    const v = document.createElement('video');
    v.muted = true; v.preload = 'auto'; v.src = URL.createObjectURL(vid.files[0]);
    vid.video = v; // drawn when the browser can decode it; the skeleton is drawn either way
  } else {
    for (const f of vid.files) {
      try { vid.frames.push(await createImageBitmap(f)); } catch (_) { vid.frames.push(null); }
    }
  }
  $('vrun').disabled = false;
}

function seqEntry(frame, answer) {
  if (!frame || !frame.ok) return null;
  return answer === 'single' ? frame.single_frame : frame.smoothed;
}

async function runSequence() {
  showError(null);
  status.sequence = false;
  $('vrun').disabled = true;
  try {
    const isVideo = !!vid.video;
    const track = $('track').value.trim();
    const make = (temporal) => {
      const form = new FormData();
      if (isVideo) form.append('video', vid.files[0], vid.files[0].name);
      else vid.files.forEach((f) => form.append('frames', f, f.name));
      if (track) form.append('track', track);
      form.append('temporal', temporal);
      form.append('include_single_frame', 'true');
      form.append('include_vertices', 'true');
      return form;
    };
    const gru = models && models.modules && models.modules.sequence && models.modules.sequence.gru_loaded;
    const answers = {};
    const filter = await api('/v1/sequence', make('filter'));
    const fjson = await filter.res.json();
    answers.filter = fjson; answers.single = fjson;
    let info = `${fjson.num_frames} frames · filter request ${fmt(filter.ms)}`;
    if (gru) {
      const g = await api('/v1/sequence', make('gru'));
      answers.gru = await g.res.json();
      info += ` · GRU request ${fmt(g.ms)}`;
    }
    if (fjson.warnings && fjson.warnings.length) info += ` · warnings: ${JSON.stringify(fjson.warnings)}`;
    $('vinfo').textContent = info;
    vid.answers = answers;
    const n = fjson.frames.length;
    $('frame').max = String(n - 1); $('frame').disabled = false; $('play').disabled = false;
    vid.index = 0;
    await showFrame(0);
    status.sequence = true;
  } catch (e) {
    showError(e);
  } finally {
    $('vrun').disabled = vid.files.length === 0;
  }
}

function frameAt(answer, i) {
  const json = vid.answers[answer === 'single' ? 'single' : answer];
  return json ? seqEntry(json.frames.find((f) => f.index === i), answer) : null;
}

async function drawVideoBackdrop(ctx, i, c) {
  let src = vid.frames[i] || null;
  if (vid.video && vid.video.readyState >= 1 && vid.video.duration) {
    const n = vid.answers.filter.frames.length;
    await new Promise((ok) => {
      const done = () => { vid.video.removeEventListener('seeked', done); ok(); };
      vid.video.addEventListener('seeked', done);
      vid.video.currentTime = Math.min(vid.video.duration, (i + 0.5) * vid.video.duration / n);
      setTimeout(done, 500);
    });
    if (vid.video.videoWidth) src = vid.video;
  }
  const w = src ? (src.videoWidth || src.width) : null, h = src ? (src.videoHeight || src.height) : null;
  if (!src || !w) {
    ctx.fillStyle = '#666'; ctx.font = '11px sans-serif';
    ctx.fillText('(this browser cannot show the frame: skeleton only)', 8, c.height - 8);
    return null;
  }
  const s = fitScale(w, h, c.width, c.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(src, 0, 0, w * s, h * s);
  return s;
}

async function showFrame(i) {
  vid.index = i;
  $('frame').value = String(i);
  $('frame-out').textContent = `frame ${i + 1} / ${Number($('frame').max) + 1}`;
  const answer = currentAnswer();
  const entry = frameAt(answer, i);
  const c = $('vframe'), ctx = c.getContext('2d');
  ctx.clearRect(0, 0, c.width, c.height);
  let s = await drawVideoBackdrop(ctx, i, c);
  if (entry) {
    if (s == null) { // no picture: fit the keypoints' box
      const b = entry.crop_box;
      s = fitScale(b[0] + b[2], b[1] + b[3], c.width, c.height);
    }
    const b = entry.crop_box; // the crop the network saw, in the frame's pixels
    ctx.strokeStyle = '#999'; ctx.lineWidth = 1; ctx.setLineDash([4, 3]);
    ctx.strokeRect(b[0] * s, b[1] * s, b[2] * s, b[3] * s);
    ctx.setLineDash([]);
    drawSkeleton(ctx, entry.keypoints2d.coco17, s, 0, 0, 2);
    show3dFrame(entry);
  } else {
    ctx.fillStyle = '#900'; ctx.font = '13px sans-serif';
    ctx.fillText('no answer for this frame (no person)', 10, 20);
    if (vid.points) { vid.points.visible = false; vid.viewer.render(); }
  }
  drawPlot();
}

function show3dFrame(entry) {
  if (!entry.vertices) return;
  if (!vid.viewer) vid.viewer = makeViewer($('vview3d'));
  if (!vid.viewer) return;
  const t = entry.camera.translation;
  const pos = new Float32Array(entry.vertices.length * 3);
  entry.vertices.forEach((v, k) => { pos[3 * k] = v[0] - t[0]; pos[3 * k + 1] = -(v[1] - t[1]); pos[3 * k + 2] = -(v[2] - t[2]); });
  if (vid.points) vid.points.visible = true;
  if (!vid.points) {
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.BufferAttribute(pos, 3));
    vid.points = new THREE.Points(g, new THREE.PointsMaterial({ color: 0x336699, size: 0.012 }));
    vid.viewer.scene.add(vid.points);
    vid.viewer.frame(vid.points);
  } else {
    vid.points.geometry.setAttribute('position', new THREE.BufferAttribute(pos, 3));
    vid.points.geometry.computeBoundingSphere();
  }
  vid.viewer.render();
}

function drawPlot() {
  const c = $('plot'), ctx = c.getContext('2d');
  ctx.clearRect(0, 0, c.width, c.height);
  const j = Number($('joint').value || 0);
  const n = vid.answers.filter ? vid.answers.filter.frames.length : 0;
  if (!n) return;
  const series = {};
  for (const a of Object.keys(ANSWER_COLOURS)) {
    if (!vid.answers[a]) continue;
    series[a] = [...Array(n).keys()].map((i) => { const e = frameAt(a, i); return e ? e.keypoints2d.coco17[j] : null; });
  }
  const all = Object.values(series).flat().filter(Boolean);
  if (!all.length) return;
  const pad = 28, half = (c.height - 3 * pad) / 2;
  const xi = (i) => pad + (i * (c.width - 2 * pad)) / Math.max(1, n - 1);
  ['x', 'y'].forEach((axis, k) => {
    const vals = all.map((p) => p[k]);
    let lo = Math.min(...vals), hi = Math.max(...vals);
    if (hi - lo < 1) { lo -= 0.5; hi += 0.5; }
    const top = pad + k * (half + pad);
    const yv = (v) => top + half - ((v - lo) / (hi - lo)) * half;
    ctx.strokeStyle = '#ccc'; ctx.strokeRect(pad, top, c.width - 2 * pad, half);
    ctx.fillStyle = '#444'; ctx.font = '11px sans-serif';
    ctx.fillText(`${axis} (px) ${lo.toFixed(0)}–${hi.toFixed(0)}`, pad + 2, top - 4);
    for (const [a, pts] of Object.entries(series)) {
      ctx.strokeStyle = ANSWER_COLOURS[a]; ctx.lineWidth = a === currentAnswer() ? 2.5 : 1.2;
      ctx.beginPath();
      let pen = false;
      pts.forEach((p, i) => {
        if (!p) { pen = false; return; }
        if (pen) ctx.lineTo(xi(i), yv(p[k])); else ctx.moveTo(xi(i), yv(p[k]));
        pen = true;
      });
      ctx.stroke();
    }
    ctx.strokeStyle = '#000'; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(xi(vid.index), top); ctx.lineTo(xi(vid.index), top + half); ctx.stroke();
  });
  let x = pad;
  for (const a of Object.keys(series)) {
    ctx.fillStyle = ANSWER_COLOURS[a]; ctx.fillText(a === 'single' ? 'single-frame' : a, x, c.height - 8); x += 80;
  }
}

function setupVideo() {
  COCO.forEach((name, j) => {
    const o = document.createElement('option'); o.value = String(j); o.textContent = name;
    $('joint').appendChild(o);
  });
  $('joint').value = '9';
  const drop = $('vdrop');
  $('vfiles').addEventListener('change', (ev) => { if (ev.target.files.length) setVideoFiles(ev.target.files); });
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault(); drop.classList.remove('over');
    if (ev.dataTransfer.files.length) setVideoFiles(ev.dataTransfer.files);
  });
  $('vrun').addEventListener('click', runSequence);
  $('frame').addEventListener('input', () => showFrame(Number($('frame').value)));
  $('joint').addEventListener('change', drawPlot);
  document.querySelectorAll('input[name=answer]').forEach((r) => r.addEventListener('change', () => showFrame(vid.index)));
  $('play').addEventListener('click', () => {
    if (vid.timer) { clearInterval(vid.timer); vid.timer = null; $('play').textContent = 'play'; return; }
    $('play').textContent = 'pause';
    vid.timer = setInterval(() => showFrame((vid.index + 1) % (Number($('frame').max) + 1)), 200);
  });
}

// ------------------------------------------------------------------------------------------ start
function setupTabs() {
  const pick = (which) => {
    $('pane-image').hidden = which !== 'image';
    $('pane-video').hidden = which !== 'video';
    $('tab-image').classList.toggle('active', which === 'image');
    $('tab-video').classList.toggle('active', which === 'video');
  };
  $('tab-image').addEventListener('click', () => pick('image'));
  $('tab-video').addEventListener('click', () => pick('video'));
}

$('api-key').addEventListener('change', loadModels);
$('key-box').addEventListener('submit', (ev) => { ev.preventDefault(); loadModels(); });
setupTabs();
setupImage();
setupVideo();
document.body.dataset.ready = 'true';
loadModels();
