/// The page Warden serves at `GET /` (off with `--no-ui`): one self-contained HTML document, its CSS and
/// script inline, no external asset and no build step. It calls the public API only: `GET /v1/models` and
/// `GET /v1/policies` for the categories, thresholds and policies, `POST /v1/moderations` with `explain`
/// for the scores and the highlighted words, and `GET /metrics` every two seconds for the live figures.
/// When the server asks for an API key (401), the page asks the user for one and keeps it in the tab's
/// session storage only.
enum WardenPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Warden: try moderation</title>
        <style>
          :root { --fg: #1d2430; --muted: #5b6472; --line: #d6dbe3; --bg: #f6f7f9; --card: #fff; --ok: #1f7a4d;
                  --bad: #b42318; --bar: #3b6fd8; --mark: #ffd8a8; --focus: #ff9e1b; }
          * { box-sizing: border-box; }
          body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
          header, main { max-width: 60rem; margin: 0 auto; padding: 0.75rem 1rem; }
          header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.5rem 1rem; }
          h1 { font-size: 1.4rem; margin: 0; }
          h2 { font-size: 1.05rem; margin: 0 0 0.5rem; }
          .muted { color: var(--muted); font-size: 0.9rem; }
          .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin-bottom: 1rem; }
          label { font-weight: 600; }
          textarea { width: 100%; min-height: 7rem; font: inherit; padding: 0.6rem; border: 1px solid var(--line); border-radius: 6px; resize: vertical; }
          select, input[type=password], button { font: inherit; padding: 0.45rem 0.7rem; border-radius: 6px; border: 1px solid var(--line); background: #fff; }
          button { background: var(--bar); color: #fff; border-color: var(--bar); cursor: pointer; font-weight: 600; }
          button:disabled { opacity: 0.6; cursor: progress; }
          :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
          .row { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: center; margin-top: 0.75rem; }
          .grid { display: grid; grid-template-columns: minmax(7rem, 11rem) 1fr 4rem; gap: 0.35rem 0.75rem; align-items: center; }
          .track { position: relative; height: 1.1rem; background: #eceff4; border-radius: 4px; overflow: hidden; }
          .fill { height: 100%; background: var(--bar); }
          .flagged .fill { background: var(--bad); }
          .flagged .name { color: var(--bad); }
          .threshold { position: absolute; top: 0; bottom: 0; width: 2px; background: var(--fg); }
          .score { text-align: right; font-variant-numeric: tabular-nums; }
          #decision { font-size: 1.1rem; font-weight: 700; margin: 0 0 0.75rem; }
          #decision.bad { color: var(--bad); }
          #decision.good { color: var(--ok); }
          #highlighted { white-space: pre-wrap; word-break: break-word; padding: 0.6rem; background: var(--bg); border-radius: 6px; }
          mark { background: var(--mark); border-bottom: 2px solid var(--bad); padding: 0 1px; }
          #error { color: var(--bad); font-weight: 600; }
          .metrics { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: 0.5rem; margin: 0; }
          .metrics div { background: var(--bg); border-radius: 6px; padding: 0.5rem; }
          .metrics dt { font-size: 0.8rem; color: var(--muted); }
          .metrics dd { margin: 0; font-size: 1.2rem; font-weight: 700; font-variant-numeric: tabular-nums; }
          [hidden] { display: none !important; }
          @media (max-width: 30rem) { .grid { grid-template-columns: 6.5rem 1fr 3.2rem; font-size: 0.9rem; } }
        </style>
        </head>
        <body>
        <header>
          <h1>Warden</h1>
          <span class="muted" id="model">loading the model…</span>
        </header>
        <main>
          <section class="card" id="key-panel" hidden aria-labelledby="key-title">
            <h2 id="key-title">API key</h2>
            <p class="muted">This server asks for an API key. It is kept in this tab's session storage only.</p>
            <form class="row" id="key-form">
              <label for="api-key">Key</label>
              <input type="password" id="api-key" autocomplete="off" required>
              <button type="submit">Use key</button>
            </form>
          </section>

          <section class="card" aria-labelledby="try-title">
            <h2 id="try-title">Try a message</h2>
            <form id="check-form">
              <label for="text">Message</label>
              <textarea id="text" placeholder="Paste or type a message (Ctrl+Enter checks it)"></textarea>
              <div class="row">
                <label for="policy">Policy</label>
                <select id="policy"><option value="">model thresholds</option></select>
                <label><input type="checkbox" id="explain" checked> explain</label>
                <button type="submit" id="check">Check</button>
              </div>
            </form>
            <p id="error" role="alert"></p>
          </section>

          <section class="card" id="result" hidden aria-labelledby="result-title" aria-live="polite">
            <h2 id="result-title">Result</h2>
            <p id="decision"></p>
            <div class="grid" id="bars" role="list" aria-label="Scores per category"></div>
            <h2 style="margin-top:1rem">What made it flagged</h2>
            <div id="highlighted"></div>
            <p class="muted" id="spans"></p>
          </section>

          <section class="card" aria-labelledby="metrics-title">
            <h2 id="metrics-title">Live</h2>
            <dl class="metrics">
              <div><dt>requests / s</dt><dd id="m-throughput">–</dd></div>
              <div><dt>queue depth</dt><dd id="m-queue">–</dd></div>
              <div><dt>p99 latency</dt><dd id="m-p99">–</dd></div>
              <div><dt>mean batch size</dt><dd id="m-batch">–</dd></div>
            </dl>
            <p class="muted" id="metrics-note">from /metrics, every 2 s</p>
          </section>
        </main>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        const state = { model: null, policies: [], defaultPolicy: null, snapshots: [] };

        function headers(json) {
          const h = {};
          if (json) h["Content-Type"] = "application/json";
          const key = sessionStorage.getItem("warden-api-key");
          if (key) h["Authorization"] = "Bearer " + key;
          return h;
        }

        async function api(path, body) {
          const response = await fetch(path, body === undefined
            ? { headers: headers(false) }
            : { method: "POST", headers: headers(true), body: JSON.stringify(body) });
          if (response.status === 401) { askForKey(); throw new Error("This server needs an API key."); }
          const text = await response.text();
          let data = null;
          try { data = JSON.parse(text); } catch (e) { data = null; }
          if (!response.ok) throw new Error((data && data.error && data.error.message) || ("HTTP " + response.status));
          return data === null ? text : data;
        }

        function askForKey() {
          $("key-panel").hidden = false;
          $("api-key").focus();
        }

        async function loadModel() {
          try {
            const models = await api("/v1/models");
            state.model = models.data[0];
            $("model").textContent = state.model.id + " " + state.model.version;
            const policies = await api("/v1/policies");
            state.policies = policies.data;
            state.defaultPolicy = policies.default || null;
            const select = $("policy");
            select.replaceChildren(new Option(state.defaultPolicy ? "default (" + state.defaultPolicy + ")" : "model thresholds", ""));
            for (const p of state.policies) select.add(new Option(p.name + " (" + p.action + ")", p.name));
            $("key-panel").hidden = true;
            $("error").textContent = "";
          } catch (e) {
            $("error").textContent = e.message;
          }
        }

        /// Thresholds by category under the chosen policy (or the model's).
        function thresholds(policyName) {
          const name = policyName || state.defaultPolicy;
          const policy = state.policies.find((p) => p.name === name);
          if (policy) return policy.thresholds;
          const out = {};
          if (state.model) for (const label of state.model.labels) out[state.model.categories[label]] = state.model.thresholds[label];
          return out;
        }

        function renderBars(result, policyName) {
          const bars = $("bars");
          bars.replaceChildren();
          const limits = thresholds(policyName);
          const names = Object.keys(result.category_scores).sort((a, b) => result.category_scores[b] - result.category_scores[a]);
          for (const name of names) {
            const score = result.category_scores[name];
            const flagged = result.categories[name] === true;
            const row = document.createElement("div");
            row.className = "bar" + (flagged ? " flagged" : "");
            row.dataset.category = name;
            row.setAttribute("role", "listitem");
            row.style.display = "contents";
            const label = document.createElement("span");
            label.className = "name";
            label.textContent = name + (flagged ? " ⚑" : "");
            const track = document.createElement("div");
            track.className = "track";
            track.setAttribute("role", "meter");
            track.setAttribute("aria-label", name);
            track.setAttribute("aria-valuemin", "0");
            track.setAttribute("aria-valuemax", "1");
            track.setAttribute("aria-valuenow", score.toFixed(3));
            const fill = document.createElement("div");
            fill.className = "fill";
            fill.style.width = (score * 100).toFixed(1) + "%";
            track.append(fill);
            if (limits[name] !== undefined) {
              const mark = document.createElement("div");
              mark.className = "threshold";
              mark.style.left = "calc(" + (limits[name] * 100).toFixed(1) + "% - 1px)";
              mark.title = "threshold " + limits[name];
              track.append(mark);
            }
            const value = document.createElement("span");
            value.className = "score";
            value.textContent = score.toFixed(3);
            row.append(label, track, value);
            bars.append(row);
          }
        }

        /// The text with the highlighted spans (UTF-16 offsets, as String.slice takes them) marked.
        function renderHighlights(text, result) {
          const box = $("highlighted");
          box.replaceChildren();
          const spans = [];
          for (const [category, list] of Object.entries(result.highlights || {})) {
            for (const h of list) spans.push({ start: h.start, end: h.end, label: category + " −" + h.drop.toFixed(3) });
          }
          spans.sort((a, b) => a.start - b.start || b.end - a.end);
          let at = 0;
          const described = [];
          for (const s of spans) {
            if (s.start < at) { described.push(s.label); continue; }
            box.append(document.createTextNode(text.slice(at, s.start)));
            const mark = document.createElement("mark");
            mark.textContent = text.slice(s.start, s.end);
            mark.title = s.label;
            mark.dataset.start = s.start;
            mark.dataset.end = s.end;
            box.append(mark);
            described.push("“" + text.slice(s.start, s.end) + "” " + s.label);
            at = s.end;
          }
          box.append(document.createTextNode(text.slice(at)));
          $("spans").textContent = spans.length
            ? "Highlighted: " + described.join("; ")
            : (result.highlights ? "No single word made it flagged." : "Turn on explain to see the words.");
        }

        async function check(event) {
          if (event) event.preventDefault();
          const text = $("text").value;
          if (!text.trim()) { $("error").textContent = "Type a message first."; return; }
          const policy = $("policy").value;
          const body = { input: text, explain: $("explain").checked };
          if (policy) body.policy = policy;
          $("check").disabled = true;
          $("error").textContent = "";
          try {
            const answer = await api("/v1/moderations", body);
            const result = answer.results[0];
            const decision = $("decision");
            const flagged = Object.keys(result.categories).filter((k) => result.categories[k]);
            const under = answer.policy ? " under policy " + answer.policy : " under the model's thresholds";
            decision.className = result.flagged ? "bad" : "good";
            decision.textContent = (result.flagged ? "Flagged" + (flagged.length ? ": " + flagged.join(", ") : "") : "Not flagged")
              + under + (result.action ? " → " + result.action : "");
            renderBars(result, policy);
            renderHighlights(text, result);
            $("result").hidden = false;
          } catch (e) {
            $("error").textContent = e.message;
          } finally {
            $("check").disabled = false;
          }
        }

        function parseMetrics(text) {
          const samples = [];
          for (const line of text.split("\n")) {
            if (!line || line[0] === "#") continue;
            const m = line.match(/^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/);
            if (!m) continue;
            const labels = {};
            if (m[3]) for (const pair of m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
            samples.push({ name: m[1], labels, value: Number(m[4]) });
          }
          return samples;
        }

        function snapshot(samples) {
          const moderation = (s) => s.labels.http_route === "/v1/moderations" || s.labels.http_route === "/v1/moderate";
          const sum = (f) => samples.filter(f).reduce((a, s) => a + s.value, 0);
          const buckets = {};
          for (const s of samples) {
            if (s.name === "http_server_request_duration_bucket" && moderation(s)) buckets[s.labels.le] = (buckets[s.labels.le] || 0) + s.value;
          }
          return {
            time: performance.now(),
            requests: sum((s) => s.name === "http_server_request_duration_count" && moderation(s)),
            queue: sum((s) => s.name === "warden_queue_depth"),
            batchSum: sum((s) => s.name === "warden_batch_size_sum"),
            batchCount: sum((s) => s.name === "warden_batch_size_count"),
            buckets,
          };
        }

        function p99(now, then) {
          const bounds = Object.keys(now.buckets).filter((b) => b !== "+Inf").sort((a, b) => Number(a) - Number(b));
          const count = (le) => (now.buckets[le] || 0) - ((then && then.buckets[le]) || 0);
          const total = count("+Inf");
          if (total <= 0) return null;
          for (const b of bounds) if (count(b) >= 0.99 * total) return Number(b);
          return Infinity;
        }

        async function pollMetrics() {
          try {
            const text = await api("/metrics");
            const now = snapshot(parseMetrics(typeof text === "string" ? text : ""));
            state.snapshots.push(now);
            while (state.snapshots.length > 16) state.snapshots.shift();
            const then = state.snapshots.length > 1 ? state.snapshots[0] : null;
            const seconds = then ? (now.time - then.time) / 1000 : 0;
            $("m-throughput").textContent = then && seconds > 0 ? ((now.requests - then.requests) / seconds).toFixed(1) : "–";
            $("m-queue").textContent = String(now.queue);
            const windowed = then && now.requests > then.requests ? p99(now, then) : p99(now, null);
            $("m-p99").textContent = windowed === null ? "–" : windowed === Infinity ? "> 10 s" : "≤ " + (windowed * 1000).toFixed(0) + " ms";
            const batches = then ? now.batchCount - then.batchCount : 0;
            $("m-batch").textContent = batches > 0 ? ((now.batchSum - then.batchSum) / batches).toFixed(1)
              : now.batchCount > 0 ? (now.batchSum / now.batchCount).toFixed(1) : "–";
            $("metrics-note").textContent = "from /metrics, every 2 s (the last 30 s)";
          } catch (e) {
            $("metrics-note").textContent = "metrics unavailable: " + e.message;
          }
        }

        $("check-form").addEventListener("submit", check);
        $("text").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) check(e); });
        $("key-form").addEventListener("submit", (e) => {
          e.preventDefault();
          sessionStorage.setItem("warden-api-key", $("api-key").value);
          $("api-key").value = "";
          loadModel();
          $("text").focus();
        });
        loadModel();
        pollMetrics();
        setInterval(pollMetrics, 2000);
        </script>
        </body>
        </html>
        """#
}
