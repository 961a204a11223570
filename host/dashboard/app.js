// The dashboard: every second it asks the control API for the counters, the
// last events and the rates of the last minutes, with the token it was opened
// with (?token=); it draws each chain as ports and NFs joined by edges that
// carry their live rates, and charts (uPlot, loaded by the page) of each chain's
// and each NF's packets in, out and dropped over time.
const token = new URL(location.href).searchParams.get('token');
const $ = (sel) => document.querySelector(sel);
const SVG = 'http://www.w3.org/2000/svg';

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

function rate(pps) {
  if (pps >= 1e6) return `${(pps / 1e6).toFixed(2)} Mpps`;
  if (pps >= 1e3) return `${(pps / 1e3).toFixed(1)} kpps`;
  return `${pps.toFixed(0)} pps`;
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const NODE_W = 200;
const GAP = 90;
const drops = (nf) => nf.dropped + nf.bad_verdict + nf.bad_length + nf.trapped + nf.hung + nf.fail_dropped;

/** The worker's time on an NF a packet over the last second (its busy_ns), when packets came. */
const cost = (nf, was) => (was && nf.in > was.in ? `${((nf.busy_ns - was.busy_ns) / (nf.in - was.in)).toFixed(1)} ns a packet` : '');

/** One chain: from port, its NFs, to port; an edge's rate is what crossed it per second, and
 *  an NF's node says what a packet cost the worker there. */
function drawChain(chain, shape, before, dt) {
  const old = before?.chains.find((c) => c.name === chain.name);
  const per = (now, was) => (old && dt > 0 ? rate((now - was) / dt) : '…');
  const nodes = [
    { label: shape.from, sub: 'port', port: true },
    ...chain.nfs.map((nf, k) => ({ label: nf.name, sub: `in ${nf.in} · drops ${drops(nf)} · traps ${nf.trap_batches}`, cost: cost(nf, old?.nfs[k]), bad: drops(nf) > 0 })),
    { label: shape.to, sub: 'port', port: true },
  ];
  const edges = [
    per(chain.in, old?.in),
    ...chain.nfs.slice(1).map((nf, k) => per(nf.in, old?.nfs[k + 1]?.in)),
    per(chain.out, old?.out),
  ];
  const svg = el('svg', { width: nodes.length * (NODE_W + GAP), height: 86 });
  const defs = el('defs', {});
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto' });
  marker.append(el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#6a7ea6' }));
  defs.append(marker);
  svg.append(defs);
  nodes.forEach((n, i) => {
    const x = i * (NODE_W + GAP);
    const g = el('g', { class: `node${n.port ? ' port' : ''}${n.bad ? ' drops' : ''}`, 'data-node': `${chain.name}:${i}` });
    g.append(el('rect', { x, y: 10, width: NODE_W, height: 64, rx: 6 }));
    g.append(el('text', { x: x + 8, y: 30, 'font-weight': 600 }, n.label));
    g.append(el('text', { x: x + 8, y: 48 }, n.sub));
    if (n.cost !== undefined) g.append(el('text', { x: x + 8, y: 66, class: 'cost' }, n.cost));
    svg.append(g);
    if (i === nodes.length - 1) return;
    const e = el('g', { class: 'edge', 'data-edge': `${chain.name}:${i}` });
    e.append(el('line', { x1: x + NODE_W, y1: 42, x2: x + NODE_W + GAP - 4, y2: 42 }));
    e.append(el('text', { x: x + NODE_W + 8, y: 34 }, edges[i]));
    svg.append(e);
  });
  const box = document.createElement('div');
  box.className = 'chain';
  box.dataset.chain = chain.name;
  box.innerHTML = `<h2></h2>`;
  box.querySelector('h2').textContent = `chain ${chain.name} · ${chain.workers} worker(s) · in ${chain.in} · out ${chain.out} · dropped ${chain.dropped}`;
  box.append(svg);
  return box;
}

const COLORS = { in: '#2f4d85', out: '#5f9a6c', dropped: '#c44' };
/** uPlot charts by key (chain, or chain and NF), kept from one second to the next. */
const charts = new Map();

function chart(key, title, names, parent) {
  let c = charts.get(key);
  if (c === undefined) {
    const box = document.createElement('div');
    box.className = 'chart';
    box.dataset.chart = key;
    box.append(Object.assign(document.createElement('h3'), { textContent: title }));
    const plot = new uPlot({
      width: 420, height: 160,
      series: [{}, ...names.map((n) => ({ label: n, stroke: COLORS[n], width: 1.5, value: (u, v) => (v === null ? '-' : rate(v)) }))],
      axes: [{}, { size: 80, values: (u, vals) => vals.map((v) => rate(v)) }],
      scales: { x: { time: true } },
    }, [[], ...names.map(() => [])], box);
    c = { box, plot };
    charts.set(key, c);
  }
  if (c.box.parentElement !== parent) parent.append(c.box);
  return c;
}

/** The last minutes, a chart per chain (in, out, dropped) and per NF (in, dropped). */
function drawHistory(samples) {
  const xs = samples.map((s) => s.at / 1000);
  const names = [...new Set(samples.flatMap((s) => s.chains.map((c) => c.name)))];
  const seen = new Set();
  const section = $('#history');
  for (const name of names) {
    let group = section.querySelector(`[data-history="${CSS.escape(name)}"]`);
    if (group === null) {
      group = document.createElement('div');
      group.className = 'chain';
      group.dataset.history = name;
      group.append(Object.assign(document.createElement('h2'), { textContent: `chain ${name}: packets a second, the last minutes` }));
      group.append(Object.assign(document.createElement('div'), { className: 'charts' }));
      section.append(group);
    }
    const row = group.querySelector('.charts');
    const of = (s) => s.chains.find((c) => c.name === name);
    const series = (pick) => samples.map((s) => { const v = of(s); return v === undefined ? null : pick(v); });
    seen.add(name);
    chart(name, 'chain', ['in', 'out', 'dropped'], row).plot.setData([xs, series((c) => c.in), series((c) => c.out), series((c) => c.dropped)]);
    const nfs = [...new Set(samples.flatMap((s) => of(s)?.nfs.map((n) => n.name) ?? []))];
    for (const nf of nfs) {
      const key = `${name}/${nf}`;
      seen.add(key);
      const pick = (what) => series((c) => c.nfs.find((n) => n.name === nf)?.[what] ?? null);
      chart(key, `nf ${nf}`, ['in', 'dropped'], row).plot.setData([xs, pick('in'), pick('dropped')]);
    }
  }
  for (const [key, c] of charts) {
    if (seen.has(key)) continue;
    c.plot.destroy();
    c.box.remove();
    charts.delete(key);
  }
  for (const group of section.querySelectorAll('[data-history]')) if (!names.includes(group.dataset.history)) group.remove();
}

let shapes = new Map();
let before;
let beforeAt = 0;

async function refreshShape() {
  const s = await api('GET', '/v1/status');
  shapes = new Map(s.body.chains.map((c) => [c.name, c]));
  const fill = (select, names) => {
    const keep = select.value;
    select.replaceChildren(...names.map((n) => Object.assign(document.createElement('option'), { value: n, textContent: n })));
    if (names.includes(keep)) select.value = keep;
  };
  fill($('#swap select'), s.body.nfs.map((n) => n.name));
  fill($('#scale select'), s.body.chains.map((c) => c.name));
}

async function tick() {
  const [stats, events, history] = await Promise.all([api('GET', '/v1/stats'), api('GET', '/v1/events'), api('GET', '/v1/history')]);
  const now = performance.now();
  const dt = before ? (now - beforeAt) / 1000 : 0;
  const s = stats.body;
  $('#uptime').textContent = `up ${s.uptimeS.toFixed(0)} s`;
  $('#chains').replaceChildren(...s.chains.filter((c) => shapes.has(c.name)).map((c) => drawChain(c, shapes.get(c.name), before, dt)));
  const inUse = s.pool.mbufs - s.pool.available;
  $('#pool').textContent = `${inUse} of ${s.pool.mbufs} mbufs in use (${((100 * inUse) / s.pool.mbufs).toFixed(1)}%)`;
  $('#threads').replaceChildren(...s.threads.map((t) => {
    const was = before?.threads.find((b) => b.name === t.name);
    const row = document.createElement('tr');
    row.innerHTML = '<td></td><td></td>';
    row.children[0].textContent = t.name;
    row.children[1].textContent = was && dt > 0 ? `${((100 * (t.seconds - was.seconds)) / dt).toFixed(0)}% of a core` : '…';
    return row;
  }));
  $('#events').replaceChildren(...events.body.events.slice().reverse().map((e) => {
    const li = document.createElement('li');
    li.textContent = `${new Date(e.at).toLocaleTimeString()} ${e.text}`;
    return li;
  }));
  drawHistory(history.body.samples);
  [before, beforeAt] = [s, now];
}

function show(answer) {
  $('#answer').textContent = JSON.stringify(answer.body, null, 1);
}

$('#swap').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const config = String(f.get('config')).trim();
  let body;
  try {
    body = { module: String(f.get('module')), ...(config !== '' && { config: JSON.parse(config) }) };
  } catch (err) {
    show({ body: { error: `config: ${err.message}` } });
    return;
  }
  show(await api('POST', `/v1/nfs/${encodeURIComponent(f.get('nf'))}/swap`, body));
  await refreshShape();
});

$('#scale').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  show(await api('POST', `/v1/chains/${encodeURIComponent(f.get('chain'))}/scale`, { workers: Number(f.get('workers')) }));
  await refreshShape();
});

async function loop() {
  try {
    await tick();
    $('#error').textContent = '';
  } catch (err) {
    $('#error').textContent = `the data plane does not answer: ${err.message}`;
  }
  setTimeout(loop, 1000);
}

await refreshShape();
setInterval(() => void refreshShape().catch(() => {}), 5000);
loop();
