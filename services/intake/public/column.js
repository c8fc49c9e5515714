// 网上征集 on the public page: a device-bound session, the form, my receipts, 联名.
// The device id and the receipt numbers stay on this phone (localStorage); nothing
// personal is written into the page.
(function () {
  "use strict";
  var DEVICE = "xieshang.device", TOKEN = "xieshang.session", RECEIPTS = "xieshang.receipts";
  var STATUS = { received: "已受理", in_review: "审核中", not_accepted: "未通过审核" };
  var STAGES = {
    submitted: "已收到，待遴选", accepted: "已列入年度协商计划", rejected: "未列入计划", merged: "已并案办理",
    research: "调研中", drawing: "抽选参会人员", inviting: "邀请参会人员", meeting: "协商议事会",
    follow_up: "成果办理跟踪", evaluation: "双向评价", closed: "已办结", pending: "登记中"
  };

  function randomId() {
    var bytes = new Uint8Array(24);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function device() {
    var id = localStorage.getItem(DEVICE);
    if (!id) { id = randomId(); localStorage.setItem(DEVICE, id); }
    return id;
  }
  function problemText(body, status) {
    if (status === 429) return "操作过于频繁，请稍后再试。";
    if (body && body.errors && body.errors.length) {
      return body.errors.map(function (e) { return e.field + "：" + e.message; }).join("；");
    }
    return "提交未成功（" + status + "），请稍后再试。";
  }
  function session(renew) {
    var saved = JSON.parse(localStorage.getItem(TOKEN) || "null");
    if (!renew && saved && Date.parse(saved.expires_at) > Date.now() + 60000) return Promise.resolve(saved.token);
    var params = new URLSearchParams(location.search);
    var body = { device_id: device() };
    if (params.get("code")) body.code = params.get("code");  // WeChat web authorisation
    return fetch("/public/session", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (b) {
        if (!r.ok) throw new Error(problemText(b, r.status));
        localStorage.setItem(TOKEN, JSON.stringify({ token: b.token, expires_at: b.expires_at }));
        return b.token;
      });
    });
  }
  function call(method, path, body, key) {
    return session(false).then(function (token) {
      var headers = { "Authorization": "Bearer " + token, "X-Xieshang-Device": device() };
      if (body) headers["Content-Type"] = "application/json";
      if (key) headers["Idempotency-Key"] = key;
      return fetch(path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined });
    }).then(function (r) {
      if (r.status === 401) { localStorage.removeItem(TOKEN); }
      return r.json().then(function (b) { return { status: r.status, ok: r.ok, body: b }; });
    });
  }
  function receipts() { return JSON.parse(localStorage.getItem(RECEIPTS) || "[]"); }
  function describe(receipt) {
    var text = STATUS[receipt.status] || receipt.status;
    if (receipt.topic_stage) text += " · 议题进展：" + (STAGES[receipt.topic_stage] || receipt.topic_stage);
    return text;
  }
  function showMine() {
    var list = document.getElementById("my-submissions");
    if (!list) return;
    var ids = receipts();
    if (!ids.length) return;
    list.innerHTML = "";
    ids.forEach(function (id) {
      var item = document.createElement("li");
      item.className = "card";
      item.setAttribute("data-receipt", id);
      item.textContent = "回执编号 " + id + "：查询中…";
      list.appendChild(item);
      call("GET", "/public/submissions/" + id).then(function (res) {
        if (!res.ok) { item.textContent = "回执编号 " + id + "：暂时无法查询"; return; }
        item.textContent = "回执编号 " + id + "：" + describe(res.body);
        if (res.body.topic_id && res.body.status === "received") {
          var link = document.createElement("a");
          link.href = "/public/page/topics/" + res.body.topic_id;
          link.textContent = "查看议题 " + res.body.topic_id;
          item.appendChild(document.createTextNode(" "));
          item.appendChild(link);
        }
      });
    });
  }
  function bindForm() {
    var form = document.getElementById("submit-form");
    if (!form) return;
    var key = randomId();  // one key per submission: a double tap submits once
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = document.getElementById("submit-error");
      var button = document.getElementById("submit-button");
      error.textContent = "";
      var body = { title: form.elements["title"].value.trim(), content: form.elements["content"].value.trim() };
      if (!body.title || !body.content) { error.textContent = "请填写标题和内容。"; return; }
      if (form.elements["submitter_name"].value.trim()) body.submitter_name = form.elements["submitter_name"].value.trim();
      if (form.elements["contact"].value.trim()) body.contact = form.elements["contact"].value.trim();
      button.disabled = true;
      call("POST", "/public/submissions", body, key).then(function (res) {
        button.disabled = false;
        if (!res.ok) { error.textContent = problemText(res.body, res.status); return; }
        var ids = receipts();
        if (ids.indexOf(res.body.submission_id) < 0) ids.unshift(res.body.submission_id);
        localStorage.setItem(RECEIPTS, JSON.stringify(ids.slice(0, 50)));
        document.getElementById("receipt-number").textContent = res.body.submission_id;
        document.getElementById("receipt-status").textContent = "状态：" + describe(res.body);
        document.getElementById("receipt").hidden = false;
        form.reset();
        key = randomId();
        showMine();
      }).catch(function (e) { button.disabled = false; error.textContent = e.message || "网络不通，请稍后再试。"; });
    });
  }
  function bindCosign() {
    var button = document.getElementById("cosign-button");
    if (!button) return;
    button.addEventListener("click", function () {
      var result = document.getElementById("cosign-result");
      button.disabled = true;
      call("POST", "/public/topics/" + button.getAttribute("data-topic") + "/cosign").then(function (res) {
        if (!res.ok) { button.disabled = false; result.textContent = problemText(res.body, res.status); return; }
        result.textContent = (res.status === 201 ? "联名成功" : "您已联名") + "，共" + res.body.cosigners + "人联名。";
        var count = document.getElementById("cosigners");
        if (count) count.textContent = res.body.cosigners;
      }).catch(function (e) { button.disabled = false; result.textContent = e.message || "网络不通，请稍后再试。"; });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { bindForm(); bindCosign(); showMine(); });
})();
