(function () {
  "use strict";
  // The review page: asks for an API key, keeps it in this tab (sessionStorage), shows the job's
  // item as the HTML report draws it, and records confirm/overrule decisions through the API.
  var root = document.documentElement;
  window.addEventListener("error", function (event) {
    root.setAttribute("data-js-error", String(event.message || "error"));
  });
  var jobId = document.body.getAttribute("data-job");
  var KEY = "complianceguard.api-key";
  var WHO = "complianceguard.reviewer";
  var session = window.sessionStorage;
  var key = null;
  var reviewer = "";
  var pending = null;

  function $(id) { return document.getElementById(id); }
  function say(text, kind) {
    var box = $("message");
    box.textContent = text || "";
    box.className = kind || "";
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function api(method, path, body) {
    var init = { method: method, headers: { "Authorization": "Bearer " + key }, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      var type = response.headers.get("content-type") || "";
      var read = type.indexOf("json") !== -1 ? response.json() : response.text();
      return read.then(function (data) {
        if (!response.ok) {
          var error = new Error((data && data.detail) || ("HTTP " + response.status));
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function lock(text) {
    key = null;
    session.removeItem(KEY);
    $("unlock").hidden = false;
    $("toolbar").hidden = true;
    $("view").textContent = "";
    $("job-state").textContent = "";
    root.setAttribute("data-state", "locked");
    say(text || "", text ? "error" : "");
  }
  function unlocked() {
    $("unlock").hidden = true;
    $("toolbar").hidden = false;
    $("reviewer-name").textContent = reviewer;
  }
  function failed(error) {
    if (error.status === 401 || error.status === 403) {
      lock(error.message);
    } else {
      root.setAttribute("data-state", "error");
      say(error.message, "error");
    }
  }

  function load() {
    root.setAttribute("data-state", "loading");
    return api("GET", "/v1/jobs/" + encodeURIComponent(jobId)).then(function (job) {
      $("job-state").textContent = "state " + job.state + (job.verdict ? ", verdict " + job.verdict : "");
      if (job.state === "queued" || job.state === "running") {
        say("The job is " + job.state + "; this page shows its findings once it is done.");
        window.setTimeout(load, 2000);
        return null;
      }
      if (job.state !== "done") {
        root.setAttribute("data-state", "error");
        say("The job failed: " + (job.error || "no result") + ". There is nothing to review.", "error");
        return null;
      }
      return api("GET", "/v1/jobs/" + encodeURIComponent(jobId) + "/report?format=html").then(function (html) {
        render(job, html);
      });
    }).catch(failed);
  }

  function render(job, html) {
    var parsed = new DOMParser().parseFromString(html, "text/html");
    var view = $("view");
    view.textContent = "";
    Array.prototype.forEach.call(parsed.querySelectorAll("section.item"), function (section) {
      Array.prototype.forEach.call(section.querySelectorAll("script, a.back"), function (node) { node.remove(); });
      view.appendChild(document.importNode(section, true));
    });
    var findings = (job.review && job.review.findings) || [];
    findings.forEach(function (finding) { attach(view, finding); });
    root.setAttribute("data-state", "ready");
    root.setAttribute("data-entries", String(job.review ? job.review.entries : 0));
  }

  function regionBox(view, region) {
    var boxes = view.querySelectorAll(".region[data-region]");
    for (var i = 0; i < boxes.length; i += 1) {
      if (boxes[i].getAttribute("data-region") === region) { return boxes[i]; }
    }
    return null;
  }
  function place(view, finding) {
    var box = regionBox(view, finding.region);
    if (box === null) { return null; }
    var blocks = box.querySelectorAll(".finding[data-rule]");
    for (var i = 0; i < blocks.length; i += 1) {
      if (blocks[i].getAttribute("data-rule") === finding.rule) { return blocks[i]; }
    }
    var rows = box.querySelectorAll("table.passing tr");
    for (var j = 0; j < rows.length; j += 1) {
      var cells = rows[j].cells;
      if (cells.length > 3 && cells[1].textContent.trim() === finding.rule) { return cells[3]; }
    }
    var other = box.querySelector(".review-other");
    if (other === null) {
      other = el("div", { "class": "review-other" });
      box.appendChild(other);
    }
    var line = el("div", { "class": "finding " + finding.machine_status, "data-rule": finding.rule });
    line.appendChild(el("div", { "class": "finding-head" }, finding.rule + " " + finding.name + " (" + finding.machine_status + ")"));
    other.appendChild(line);
    return line;
  }

  function attach(view, finding) {
    var host = place(view, finding);
    if (host === null) { return; }
    var controls = el("div", { "class": "review-controls", "data-review-region": finding.region, "data-review-rule": finding.rule });
    var standing = "Machine status: " + finding.machine_status + ". ";
    if (finding.decision) {
      standing += (finding.decision === "overrule" ? "Overruled" : "Confirmed") + " by " + finding.reviewer + " (" + finding.time + ").";
    } else {
      standing += "No decision yet.";
    }
    controls.appendChild(el("span", { "class": "standing" }, standing));
    var label = el("label", {}, "Reason");
    var reason = el("textarea", { "name": "reason", "rows": "2", "maxlength": "4000" });
    label.appendChild(reason);
    controls.appendChild(label);
    ["confirm", "overrule"].forEach(function (decision) {
      var button = el("button", { "type": "button", "data-decision": decision }, decision === "confirm" ? "Confirm" : "Overrule");
      button.addEventListener("click", function () { decide(finding, decision, reason, controls); });
      controls.appendChild(button);
    });
    host.appendChild(controls);
  }

  function decide(finding, decision, reason, controls) {
    var why = reason.value.trim();
    if (!why) {
      say("Give a reason for the decision on " + finding.region + " " + finding.rule + ".", "error");
      reason.focus();
      return;
    }
    if (pending) { return; }
    Array.prototype.forEach.call(controls.querySelectorAll("button"), function (b) { b.disabled = true; });
    pending = api("POST", "/v1/jobs/" + encodeURIComponent(jobId) + "/reviews", {
      region: finding.region, rule: finding.rule, decision: decision, reviewer: reviewer, reason: why
    }).then(function (entry) {
      root.setAttribute("data-recorded", String(entry.seq));
      say("Recorded: " + (decision === "overrule" ? "overruled" : "confirmed") + " " + entry.region + " " + entry.rule +
          " (entry " + entry.seq + ", " + entry.hash.slice(0, 12) + ").", "ok");
      return load();
    }).catch(function (error) {
      Array.prototype.forEach.call(controls.querySelectorAll("button"), function (b) { b.disabled = false; });
      failed(error);
    }).then(function () { pending = null; });
  }

  $("unlock").addEventListener("submit", function (event) {
    event.preventDefault();
    var given = $("api-key").value.trim();
    var name = $("reviewer").value.trim();
    if (!given || !name) {
      say("Give the API key and your name.", "error");
      return;
    }
    key = given;
    reviewer = name;
    session.setItem(KEY, key);
    session.setItem(WHO, reviewer);
    $("api-key").value = "";
    unlocked();
    say("");
    load();
  });
  $("lock").addEventListener("click", function () { lock(""); });

  key = session.getItem(KEY);
  reviewer = session.getItem(WHO) || "";
  if (key && reviewer) {
    unlocked();
    load();
  } else {
    key = null;
  }
  root.setAttribute("data-js", "ready");
}());
