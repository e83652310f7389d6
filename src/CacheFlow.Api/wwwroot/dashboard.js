// The CacheFlow dashboard: polls /cache/stats every second and draws the last two minutes with uPlot.
(() => {
  const keep = 120;
  const series = {};
  const charts = {};
  let previous = null;

  const colours = ['#2463eb', '#e8590c', '#2f9e44', '#ae3ec9'];
  // The x axis always spans the two minutes the charts keep, ending now: with one point (or none) uPlot would
  // otherwise widen the range on its own, up to years.
  const lastTwoMinutes = () => {
    const now = Date.now() / 1000;
    return [now - keep, now];
  };
  // An empty chart (no value yet, or all null) keeps 0-1 instead of a range made up from nothing; a flat line of
  // zeros sits at the bottom, not in the middle of a -1..1 axis.
  const valueRange = fixed => (u, min, max) => {
    if (fixed) return fixed;
    if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
    const low = Math.min(0, min);
    return [low, max > low ? max * 1.1 : low + 1];
  };

  function chart(id, labels, fixed) {
    const element = document.getElementById(id);
    const options = {
      width: element.clientWidth || 560, height: 180,
      // Room on the right and left for the first and last time labels, which are centred on their ticks.
      padding: [8, 28, 0, 8],
      scales: { x: { time: true, range: lastTwoMinutes }, y: { range: valueRange(fixed) } },
      axes: [{ space: 70 }, { size: 56 }],
      legend: { show: true },
      series: [{}].concat(labels.map((label, i) => ({ label, stroke: colours[i % colours.length], width: 2, spanGaps: true }))),
    };
    charts[id] = { plot: new uPlot(options, [[]].concat(labels.map(() => [])), element), labels };
    series[id] = [[]].concat(labels.map(() => []));
  }

  chart('chart-ratio', ['hit ratio %'], [0, 100]);
  chart('chart-outcomes', ['HIT', 'MISS', 'STALE', 'BYPASS']);
  chart('chart-latency', ['hit p50', 'miss p50', 'hit p99', 'miss p99']);
  chart('chart-loads', ['loads/s']);
  chart('chart-queue', ['depth', 'lag s']);
  chart('chart-redis', ['memory MB', 'keys']);

  function push(id, time, values) {
    const data = series[id];
    data[0].push(time);
    values.forEach((v, i) => data[i + 1].push(v ?? null));
    if (data[0].length > keep) data.forEach(column => column.shift());
    charts[id].plot.setData(data);
  }

  const perSecond = (now, before, field, seconds) => Math.max(0, (now[field] - before[field]) / seconds);
  const text = (id, value) => { document.getElementById(id).textContent = value; };

  async function poll() {
    let stats;
    try {
      const response = await fetch('/cache/stats', { cache: 'no-store' });
      stats = await response.json();
    } catch {
      text('server', 'API unreachable');
      return;
    }

    const now = Date.now() / 1000;
    const totals = stats.cache_stats;
    const redis = stats.redis_stats;
    text('server', redis.available ? `${redis.server} ${redis.version} · ${redis.keys} keys` : 'Redis unavailable: serving from the database (BYPASS)');
    text('tile-queue', `${stats.write_behind.depth} (${stats.write_behind.dead_letters} dead)`);

    if (previous) {
      const seconds = Math.max(0.001, now - previous.time);
      const before = previous.totals;
      const hits = perSecond(totals, before, 'hits', seconds);
      const misses = perSecond(totals, before, 'misses', seconds);
      const ratio = hits + misses > 0 ? (100 * hits) / (hits + misses) : null;
      const loads = perSecond(totals, before, 'loads', seconds);
      push('chart-ratio', now, [ratio]);
      push('chart-outcomes', now, [hits, misses, perSecond(totals, before, 'stale', seconds), perSecond(totals, before, 'bypasses', seconds)]);
      push('chart-loads', now, [loads]);
      // The tile says which figure it shows: the last second's, or (with no reads in that second) the all-time one.
      const reads = totals.hits + totals.misses;
      text('tile-ratio', ratio !== null ? `${ratio.toFixed(1)}%` : reads > 0 ? totals.hit_ratio : '—');
      text('tile-ratio-scope', ratio !== null ? 'last second' : reads > 0 ? 'all time (no reads in the last second)' : 'no reads yet');
      document.getElementById('tile-ratio').dataset.scope = ratio !== null ? 'second' : reads > 0 ? 'all-time' : 'none';
      text('tile-rps', perSecond(totals, before, 'total', seconds).toFixed(0));
      text('tile-loads', loads.toFixed(1));
    }

    const latency = stats.latency;
    push('chart-latency', now, [latency.hit.p50, latency.miss.p50, latency.hit.p99, latency.miss.p99]);
    push('chart-queue', now, [stats.write_behind.depth, (stats.write_behind.lag_milliseconds ?? 0) / 1000]);
    push('chart-redis', now, [redis.used_memory ? redis.used_memory / 1048576 : null, redis.keys]);

    const rows = Object.entries(stats.families).sort(([a], [b]) => a.localeCompare(b)).map(([family, f]) =>
      `<tr><td>${family}</td><td>${f.hits}</td><td>${f.misses}</td><td>${f.stale}</td><td>${f.hits + f.misses > 0 ? f.hit_ratio : '—'}</td><td>${f.loads}</td><td>${f.bypasses}</td><td>${f.lease_lost}</td></tr>`);
    document.querySelector('#families tbody').innerHTML = rows.join('');

    previous = { time: now, totals };
    document.body.dataset.points = String(series['chart-ratio'][0].length);
    document.body.dataset.polls = String(Number(document.body.dataset.polls ?? 0) + 1);
  }

  function adminKey() {
    let key = sessionStorage.getItem('cacheflow-admin-key');
    if (!key) {
      key = prompt('Admin API key (the API logs it at start when none is configured)');
      if (key) sessionStorage.setItem('cacheflow-admin-key', key);
    }
    return key;
  }

  async function admin(method, path, done) {
    const key = adminKey();
    if (!key) return;
    const response = await fetch(path, { method, headers: { 'X-Api-Key': key } });
    if (response.status === 401) sessionStorage.removeItem('cacheflow-admin-key');
    const body = response.status === 204 ? null : await response.json();
    text('message', response.ok ? done(body) : `${response.status}: ${body?.detail ?? body?.title ?? 'failed'}`);
  }

  document.getElementById('warm').onclick = () => admin('POST', '/cache/warm', body => `Warmed ${body.count} users`);
  document.getElementById('invalidate').onclick = () => {
    const id = document.getElementById('invalidate-id').value;
    admin('DELETE', `/cache/keys/user:${encodeURIComponent(id)}`, () => `Invalidated user:${id}`);
  };
  document.getElementById('demo-start').onclick = () => admin('POST', '/cache/demo-load', () => 'Demo load started');
  document.getElementById('demo-stop').onclick = () => admin('DELETE', '/cache/demo-load', () => 'Demo load stopped');
  document.getElementById('reset').onclick = () => admin('POST', '/cache/stats/reset', () => { previous = null; return 'Stats reset'; });

  // For the browser test: each chart's current scales.
  globalThis.cacheflowScales = () => Object.fromEntries(Object.entries(charts).map(([id, c]) =>
    [id, { x: [c.plot.scales.x.min, c.plot.scales.x.max], y: [c.plot.scales.y.min, c.plot.scales.y.max] }]));

  poll();
  setInterval(poll, 1000);
})();
