// The CacheFlow dashboard: polls /cache/stats every second and draws the last two minutes with uPlot.
(() => {
  const keep = 120;
  const series = {};
  const charts = {};
  let previous = null;

  const colours = ['#2463eb', '#e8590c', '#2f9e44', '#ae3ec9'];
  function chart(id, labels) {
    const element = document.getElementById(id);
    const options = {
      width: element.clientWidth || 560, height: 180,
      scales: { x: { time: true } },
      legend: { show: true },
      series: [{}].concat(labels.map((label, i) => ({ label, stroke: colours[i % colours.length], width: 2, spanGaps: true }))),
    };
    charts[id] = { plot: new uPlot(options, [[]].concat(labels.map(() => [])), element), labels };
    series[id] = [[]].concat(labels.map(() => []));
  }

  chart('chart-ratio', ['hit ratio %']);
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
      text('tile-ratio', ratio === null ? totals.hit_ratio : `${ratio.toFixed(1)}%`);
      text('tile-rps', perSecond(totals, before, 'total', seconds).toFixed(0));
      text('tile-loads', loads.toFixed(1));
    }

    const latency = stats.latency;
    push('chart-latency', now, [latency.hit.p50, latency.miss.p50, latency.hit.p99, latency.miss.p99]);
    push('chart-queue', now, [stats.write_behind.depth, (stats.write_behind.lag_milliseconds ?? 0) / 1000]);
    push('chart-redis', now, [redis.used_memory ? redis.used_memory / 1048576 : null, redis.keys]);

    const rows = Object.entries(stats.families).sort(([a], [b]) => a.localeCompare(b)).map(([family, f]) =>
      `<tr><td>${family}</td><td>${f.hits}</td><td>${f.misses}</td><td>${f.stale}</td><td>${f.hit_ratio}</td><td>${f.loads}</td><td>${f.bypasses}</td><td>${f.lease_lost}</td></tr>`);
    document.querySelector('#families tbody').innerHTML = rows.join('');

    previous = { time: now, totals };
    document.body.dataset.points = String(series['chart-ratio'][0].length);
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

  poll();
  setInterval(poll, 1000);
})();
