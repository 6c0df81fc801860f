/* 民声 模拟器：以任意居民、网格员或工作人员的身份与机器人对话，并旁观楼栋群。
 * 纯原生 JS，无构建步骤、无外部依赖。 */
"use strict";

(() => {
  const POLL_MS = 1000;
  // 超长的消息只发出前面这么多字，并告诉服务器省略了多少字；服务器照真实渠道的规则截断并在对话里说明。
  const MAX_SEND_CHARS = 20000;
  const NARROW = window.matchMedia("(max-width: 600px)");
  const NEAR_BOTTOM_PX = 80;
  const BOT_NAME = "民声";

  const ROLE_LABELS = {
    worker: "网格员",
    head: "网格长",
    staff: "社区工作人员",
    admin: "管理员",
  };
  const ROLE_ORDER = ["worker", "head", "staff", "admin"];
  // 网格员、网格长用网格员命令；社区工作人员、管理员另可派单、发公告。
  const STAFF_ROLES = new Set(["staff", "admin"]);

  const RESIDENT_CHIPS = [
    { text: "我住3号楼2单元501" },
    { text: "3号楼2单元门口的路灯不亮了" },
    { text: "查询" },
    { text: "催一下" },
    { text: "满意" },
    { text: "不满意", prefix: "不满意，", fillOnly: true },
  ];

  // 含 "N" 的快捷回复：N 换成对话中最近出现的诉求编号后直接发送；
  // 还没有编号（或 fillOnly）时只把前缀填进输入框，由人补全。
  const WORKER_CHIPS = [
    { text: "待办" },
    { text: "接单 N", prefix: "接单 " },
    { text: "进度 N …", prefix: "进度 ", suffix: " ", fillOnly: true },
    { text: "办结 N 已修好", prefix: "办结 ", suffix: " 已修好" },
    { text: "帮助" },
  ];

  const STAFF_CHIPS = [
    { text: "待办" },
    { text: "接单 N", prefix: "接单 " },
    { text: "办结 N 已修好", prefix: "办结 ", suffix: " 已修好" },
    { text: "派单 N …", prefix: "派单 ", suffix: " ", fillOnly: true },
    { text: "公告 …", announce: true },
    { text: "帮助" },
  ];

  const AVATAR_COLORS = ["#5b8ff9", "#f6903d", "#9270ca", "#e8684a", "#36a3a0", "#d3a40f", "#6dc8ec", "#c2467a"];

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role" || key === "title") {
        node.setAttribute(key, value === true ? "" : String(value));
      } else node[key] = value;
    }
    for (const child of children) if (child) node.append(child);
    return node;
  };

  const state = {
    people: null, // 最近一次 /api/sim/people 的结果
    current: null, // {kind, id}
    group: null, // 楼栋群 id
    groupPinned: false, // 用户亲自选过群后，不再随居民所住楼栋切换
    offline: false,
  };

  // ---------- 网络 ----------

  async function getJSON(url) {
    const res = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    return res.json();
  }

  async function postJSON(url, body) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) {
      // 服务器的说明是给人看的中文（{"error": "…"}），直接显示；没有说明时只说状态码。
      let detail = "";
      try {
        const data = await res.json();
        if (data && typeof data.error === "string") detail = data.error;
      } catch (_) {
        /* 不是 JSON：用下面的通用说明 */
      }
      throw new Error(detail || `服务器暂时无法处理（${res.status}），请稍后再试`);
    }
    return res.json();
  }

  let toastTimer = null;
  function toast(text, ms = 3000) {
    const box = $("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    if (ms) toastTimer = setTimeout(() => (box.hidden = true), ms);
  }

  function setOffline(offline) {
    if (offline === state.offline) return;
    state.offline = offline;
    document.body.classList.toggle("offline", offline);
    if (offline) toast("连接服务器失败，正在重试…", 0);
    else toast("已重新连接", 1500);
  }

  // ---------- 时间 ----------

  // 直接按服务器给出的时间串（含 +08:00）显示，不受浏览器时区影响。
  function parseAt(at) {
    const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})/.exec(at || "");
    if (!m) return null;
    return { day: `${m[1]}-${m[2]}-${m[3]}`, y: +m[1], mo: +m[2], d: +m[3], hm: `${m[4]}:${m[5]}` };
  }

  function dayLabel(t) {
    const week = "日一二三四五六"[new Date(t.y, t.mo - 1, t.d).getDay()];
    return `${t.y}年${t.mo}月${t.d}日 星期${week}`;
  }

  // ---------- 头像 ----------

  function colorFor(key) {
    let h = 0;
    for (const ch of key) h = (h * 31 + ch.codePointAt(0)) >>> 0;
    return AVATAR_COLORS[h % AVATAR_COLORS.length];
  }

  function avatar(name, key, extra = "") {
    const first = Array.from(name || "?")[0];
    const a = el("span", { class: `avatar ${extra}`.trim(), "aria-hidden": "true", text: first });
    if (key) a.style.background = colorFor(key);
    return a;
  }

  // ---------- 身份 ----------

  function personKey(kind, id) {
    return `${kind}:${id}`;
  }

  function findPerson(kind, id) {
    if (!state.people) return null;
    const list = kind === "resident" ? state.people.residents : state.people.staff;
    return (list || []).find((p) => p.id === id) || null;
  }

  function findGroup(id) {
    return ((state.people && state.people.groups) || []).find((g) => g.id === id) || null;
  }

  function residentDetail(p) {
    if (p.building_name || p.room) return [p.building_name, p.room].filter(Boolean).join(" ");
    return "未登记住址";
  }

  function staffDetail(p) {
    const role = ROLE_LABELS[p.role] || p.role || "工作人员";
    return [role, p.grid_name].filter(Boolean).join(" · ");
  }

  function groupDetail(g) {
    return [g.community, "一楼一群"].filter(Boolean).join(" · ");
  }

  function listItem({ attr, value, name, detail, colorKey, extraClass }) {
    const button = el(
      "button",
      { type: "button", class: `item ${extraClass || ""}`.trim(), [attr]: value },
      avatar(name, colorKey, extraClass === "group-item" ? "avatar-group" : ""),
      el(
        "span",
        { class: "item-text" },
        el("span", { class: "item-name", text: name }),
        el("span", { class: "item-detail", text: detail }),
      ),
    );
    return el("li", {}, button);
  }

  function section(title, id, items) {
    const count = el("span", { class: "count", text: String(items.length) });
    const heading = el("h2", { class: "section-title", id: `section-${id}` }, title, count);
    const list = el("ul", { class: "item-list", "aria-labelledby": `section-${id}` });
    items.forEach((it) => list.append(it));
    if (!items.length) list.append(el("li", { class: "item-none", text: "（无）" }));
    return el("section", { class: "section", "data-section": id }, heading, list);
  }

  function renderPeople() {
    const box = $("people");
    const data = state.people;
    const person = (kind, p, detail) =>
      listItem({ attr: "data-person", value: personKey(kind, p.id), name: p.name, detail, colorKey: p.id });
    const residents = (data.residents || []).map((p) => person("resident", p, residentDetail(p)));
    const rank = (p) => (ROLE_ORDER.includes(p.role) ? ROLE_ORDER.indexOf(p.role) : ROLE_ORDER.length);
    const sorted = [...(data.staff || [])].sort((a, b) => rank(a) - rank(b));
    const staff = sorted.map((p) => person("staff", p, staffDetail(p)));
    const groups = (data.groups || []).map((g) =>
      listItem({ attr: "data-group", value: g.id, name: g.name, detail: groupDetail(g), extraClass: "group-item" }),
    );
    box.replaceChildren(
      section("居民", "residents", residents),
      section("网格员与工作人员", "staff", staff),
      section("楼栋群", "groups", groups),
    );
    box.setAttribute("aria-busy", "false");
    markSelection();
    applySearch();
  }

  // 刷新时若名单未变，只更新说明文字，避免打断键盘焦点。
  function updatePeople(next) {
    const sig = (d) =>
      JSON.stringify([
        (d.residents || []).map((p) => [p.id, p.name]),
        (d.staff || []).map((p) => [p.id, p.name]),
        (d.groups || []).map((g) => [g.id, g.name]),
      ]);
    const same = state.people && sig(state.people) === sig(next);
    state.people = next;
    if (!same) {
      renderPeople();
    } else {
      const detail = (kind, id) =>
        document.querySelector(`[data-person="${cssEscape(personKey(kind, id))}"] .item-detail`);
      for (const p of next.residents || []) {
        const item = detail("resident", p.id);
        if (item) item.textContent = residentDetail(p);
      }
      for (const p of next.staff || []) {
        const item = detail("staff", p.id);
        if (item) item.textContent = staffDetail(p);
      }
    }
    updateChatHeader();
    followResidentBuilding();
  }

  function cssEscape(s) {
    return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, "\\$&");
  }

  async function loadPeople() {
    try {
      const data = await getJSON("/api/sim/people");
      setOffline(false);
      if (!state.people) {
        state.people = data;
        renderPeople();
      } else {
        updatePeople(data);
      }
      return true;
    } catch (err) {
      if (!state.people) $("people-status").textContent = `加载身份列表失败：${err.message}`;
      setOffline(true);
      return false;
    }
  }

  function markSelection() {
    const cur = state.current ? personKey(state.current.kind, state.current.id) : null;
    document.querySelectorAll("[data-person]").forEach((b) => {
      if (b.dataset.person === cur) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    });
    document.querySelectorAll("[data-group]").forEach((b) => {
      if (b.dataset.group === state.group) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    });
  }

  function applySearch() {
    const q = $("search").value.trim().toLowerCase();
    document.querySelectorAll("#people .item").forEach((b) => {
      b.parentElement.hidden = Boolean(q) && !b.textContent.toLowerCase().includes(q);
    });
    document.querySelectorAll("#people .section").forEach((s) => {
      s.hidden = Boolean(q) && !s.querySelector("li:not([hidden]) .item");
    });
  }

  // ---------- 消息流 ----------

  class Feed {
    constructor(box, { isGroup = false, onAppend = null } = {}) {
      this.box = box;
      this.isGroup = isGroup;
      this.onAppend = onAppend;
      this.key = null; // {kind, id}
      this.lastId = 0;
      this.lastDay = null;
      this.gen = 0;
      this.inflight = null;
      this.again = false;
    }

    reset(key) {
      this.key = key;
      this.lastId = 0;
      this.lastDay = null;
      this.gen += 1;
      this.box.replaceChildren();
      this.box.dataset.loaded = "false";
    }

    nearBottom() {
      const b = this.box;
      return b.scrollHeight - b.scrollTop - b.clientHeight < NEAR_BOTTOM_PX;
    }

    scrollToBottom() {
      this.box.scrollTop = this.box.scrollHeight;
    }

    // 同一时刻只发一个请求；请求期间再被调用时，结束后再补拉一次。
    poll() {
      if (!this.key) return Promise.resolve();
      if (this.inflight) {
        this.again = true;
        return this.inflight;
      }
      this.inflight = (async () => {
        do {
          this.again = false;
          await this.fetchOnce();
        } while (this.again && this.key);
      })().finally(() => {
        this.inflight = null;
      });
      return this.inflight;
    }

    async fetchOnce() {
      const gen = this.gen;
      const { kind, id } = this.key;
      const params = new URLSearchParams({ kind, id, after: String(this.lastId) });
      let data;
      try {
        data = await getJSON(`/api/sim/log?${params}`);
        setOffline(false);
      } catch (err) {
        setOffline(true);
        return;
      }
      if (gen !== this.gen) return; // 期间已切换身份
      const first = this.box.dataset.loaded !== "true";
      const stick = first || this.nearBottom();
      let added = 0;
      for (const m of data.messages || []) {
        if (typeof m.id !== "number" || m.id <= this.lastId) continue;
        this.append(m);
        this.lastId = m.id;
        added += 1;
      }
      this.box.dataset.loaded = "true";
      this.box.dataset.lastId = String(this.lastId);
      if (first && !added) this.showEmpty();
      if (added) {
        const hint = this.box.querySelector(".feed-empty");
        if (hint) hint.remove();
        if (stick) this.scrollToBottom();
        else if (this.onAppend) this.onAppend(added);
      }
    }

    showEmpty() {
      const text = this.isGroup ? "群里还没有消息" : "还没有对话，发一条消息试试吧";
      this.box.append(el("p", { class: "feed-empty", text }));
    }

    divider(t) {
      if (!t || t.day === this.lastDay) return null;
      this.lastDay = t.day;
      return el("div", { class: "divider", role: "separator" }, el("span", { text: dayLabel(t) }));
    }

    // "in" = 此人发给机器人（右侧绿色）；"out" = 机器人发出（左侧白色）。
    buildMessage(m, pending = false) {
      const dir = m.direction === "in" ? "in" : "out";
      const t = parseAt(m.at);
      const who = this.whoFor(dir);
      const bubble = el("div", { class: "bubble", text: m.text });
      const meta = el("div", { class: "meta" });
      if (this.isGroup || dir === "out") meta.append(el("span", { class: "sender", text: who.name }));
      if (t) {
        meta.append(el("time", { class: "time", dateTime: m.at, title: `${dayLabel(t)} ${t.hm}`, text: t.hm }));
      }
      else if (pending) meta.append(el("span", { class: "time", text: "发送中…" }));
      const label = `${who.name}${t ? ` ${t.hm}` : ""}：`;
      return el(
        "div",
        {
          class: `msg ${dir}${pending ? " pending" : ""}`,
          "data-id": m.id,
          "data-direction": dir,
          role: "article",
          "aria-label": label + m.text,
        },
        avatar(who.name, who.colorKey, who.bot ? "avatar-bot" : ""),
        el("div", { class: "msg-body" }, meta, bubble),
      );
    }

    whoFor(dir) {
      if (dir === "out") return { name: BOT_NAME, colorKey: null, bot: true };
      if (this.isGroup) return { name: "群成员", colorKey: "group-member" };
      const p = this.key && findPerson(this.key.kind, this.key.id);
      return { name: p ? p.name : "我", colorKey: this.key ? this.key.id : "me" };
    }

    append(m) {
      const node = this.buildMessage(m);
      const div = this.divider(parseAt(m.at));
      // 已被服务器记录的消息替换掉同文的“发送中”气泡。
      if (m.direction === "in") {
        const pendings = [...this.box.querySelectorAll(".msg.pending:not(.failed)")];
        const match = pendings.find((p) => p.dataset.text === m.text);
        if (match) match.remove();
      }
      const anchor = this.box.querySelector(".msg.pending");
      if (div) this.box.insertBefore(div, anchor || null);
      this.box.insertBefore(node, anchor || null);
    }

    addPending(text) {
      const node = this.buildMessage({ id: "", direction: "in", text, at: null }, true);
      node.dataset.text = text;
      const hint = this.box.querySelector(".feed-empty");
      if (hint) hint.remove();
      this.box.append(node);
      this.scrollToBottom();
      return node;
    }
  }

  const chat = new Feed($("messages"), {
    onAppend: () => {
      $("jump").hidden = false;
    },
  });
  const groupFeed = new Feed($("group-feed"), { isGroup: true });

  // ---------- 选择身份 / 群 ----------

  function updateChatHeader() {
    const cur = state.current;
    const title = $("chat-title");
    const sub = $("chat-subtitle");
    if (!cur) {
      title.textContent = "民声";
      sub.textContent = "请从左侧选择一位居民或工作人员";
      return;
    }
    const p = findPerson(cur.kind, cur.id);
    const name = p ? p.name : cur.id;
    title.textContent = name;
    if (cur.kind === "resident") {
      sub.textContent = `居民 · ${p ? residentDetail(p) : ""} · 在微信里与“民声”对话`;
    } else {
      sub.textContent = `${p ? staffDetail(p) : "工作人员"} · 在企业微信里与“民声”对话`;
    }
  }

  function selectPerson(kind, id, { focus = true } = {}) {
    state.current = { kind, id };
    markSelection();
    updateChatHeader();
    $("chat-empty")?.remove();
    $("jump").hidden = true;
    chat.reset({ kind, id });
    renderChips();
    const input = $("input");
    input.disabled = false;
    $("send").disabled = false;
    const p = findPerson(kind, id);
    followResidentBuilding();
    input.placeholder = `以 ${p ? p.name : id} 的身份发消息…`;
    $("location-open").disabled = kind !== "resident";
    $("location-open").hidden = kind !== "resident";
    document.getElementById("app").dataset.view = "chat";
    saveHash();
    chat.poll();
    if (focus) input.focus();
  }

  // 未亲自选过群时，右栏跟随当前居民所住楼栋的群。
  function followResidentBuilding() {
    const cur = state.current;
    if (!cur || cur.kind !== "resident" || state.groupPinned) return;
    const p = findPerson(cur.kind, cur.id);
    if (p && p.building && p.building !== state.group && findGroup(p.building)) {
      selectGroup(p.building, { switchView: false, pin: false });
    }
  }

  function selectGroup(id, { switchView = true, pin = true } = {}) {
    const g = findGroup(id);
    if (!g) return;
    if (pin) state.groupPinned = true;
    state.group = id;
    markSelection();
    $("group-title").textContent = `${g.name} · 楼栋群`;
    $("group-subtitle").textContent = `${g.community || ""} ${g.name} 一楼一群 · 实时旁观`.trim();
    $("group-panel").dataset.group = id;
    groupFeed.reset({ kind: "group", id });
    if (state.current && state.current.kind !== "resident") renderChips(); // “公告”默认发往所看的群
    if (switchView) document.getElementById("app").dataset.view = "group";
    saveHash();
    groupFeed.poll();
  }

  function saveHash() {
    const params = new URLSearchParams();
    if (state.current) params.set("who", personKey(state.current.kind, state.current.id));
    if (state.group && state.groupPinned) params.set("group", state.group);
    history.replaceState(null, "", `#${params}`);
  }

  function restoreHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const group = params.get("group");
    const groups = (state.people && state.people.groups) || [];
    if (findGroup(group)) selectGroup(group, { switchView: false });
    else if (groups.length) selectGroup(groups[0].id, { switchView: false, pin: false });
    const who = params.get("who");
    if (who && who.includes(":")) {
      const [kind, ...rest] = who.split(":");
      const id = rest.join(":");
      if (findPerson(kind, id)) selectPerson(kind, id, { focus: false });
    }
  }

  // ---------- 快捷回复 ----------

  // 从机器人最近的消息里找诉求编号（“编号 12 号”“12 号”“12号”，但不是“3号楼”），
  // 用于“接单 N”“办结 N”。
  const NUMBER_PATTERNS = [
    /编号\s*[:：]?\s*[#＃]?\s*(\d+)/,
    /(?<![\d号])(\d+)\s*号(?![楼栋院门单室])/,
  ];

  function latestNumber() {
    const bubbles = [...$("messages").querySelectorAll(".msg.out .bubble")].reverse();
    for (const b of bubbles) {
      for (const re of NUMBER_PATTERNS) {
        const m = re.exec(b.textContent);
        if (m) return m[1];
      }
    }
    return null;
  }

  function chipDefs() {
    if (state.current.kind === "resident") return RESIDENT_CHIPS;
    const p = findPerson(state.current.kind, state.current.id);
    return p && STAFF_ROLES.has(p.role) ? STAFF_CHIPS : WORKER_CHIPS;
  }

  // 每个快捷回复要么直接发送 send，要么把 fill 填进输入框（光标停在 caret 处）。
  function chipAction(def, num) {
    if (def.announce) {
      const g = findGroup(state.group);
      const fill = `公告 ${g ? g.name : "3号楼"} `;
      return { label: def.text, fill, caret: fill.length };
    }
    if (def.prefix === undefined) return { label: def.text, send: def.text };
    if (num && !def.fillOnly) {
      const text = `${def.prefix}${num}${def.suffix || ""}`;
      return { label: text, send: text };
    }
    const fill = `${def.prefix}${num || ""}${def.suffix || ""}`;
    const label = num ? def.text.replace("N", num) : def.text;
    return { label, fill, caret: num ? fill.length : def.prefix.length };
  }

  function renderChips() {
    const box = $("chips");
    const focused = box.contains(document.activeElement) ? document.activeElement.dataset.chip : null;
    box.replaceChildren();
    if (!state.current) return;
    const num = state.current.kind === "resident" ? null : latestNumber();
    for (const def of chipDefs()) {
      const action = chipAction(def, num);
      const filling = action.send === undefined;
      const chip = el("button", {
        type: "button",
        class: `chip${filling ? " chip-fill" : ""}`,
        "data-chip": def.text,
        "data-text": filling ? action.fill : action.send,
        title: filling ? "填入输入框，补全后发送" : "直接发送",
        text: action.label,
      });
      chip.addEventListener("click", () => {
        if (!filling) {
          submit(action.send);
          return;
        }
        const input = $("input");
        input.value = action.fill;
        input.focus();
        input.setSelectionRange(action.caret, action.caret);
        autoGrow();
      });
      box.append(chip);
      if (focused === def.text) chip.focus();
    }
    box.dataset.number = num || "";
  }

  // ---------- 发送 ----------

  function autoGrow() {
    const input = $("input");
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 140)}px`;
  }

  function sendBody(who, text) {
    const chars = Array.from(text);
    const body = { kind: who.kind, id: who.id, text: chars.slice(0, MAX_SEND_CHARS).join("") };
    if (chars.length > MAX_SEND_CHARS) body.omitted = chars.length - MAX_SEND_CHARS;
    return body;
  }

  // 发送失败的原因写在对话里（失败的那条消息下面），不只是一闪而过的提示。
  function failureNote(pending, message) {
    const note = el("div", { class: "notice", role: "note", text: message });
    pending.after(note);
    if (chat.nearBottom()) chat.scrollToBottom();
  }

  async function submit(raw, extra = null) {
    const text = (raw || "").trim();
    if (!text || !state.current) return;
    const who = { ...state.current };
    const pending = chat.addPending(text.length > 500 ? `${text.slice(0, 500)}…` : text);
    $("jump").hidden = true;
    try {
      await postJSON("/api/sim/send", extra ? { kind: who.kind, id: who.id, ...extra } : sendBody(who, text));
      const same = state.current && state.current.kind === who.kind && state.current.id === who.id;
      if (same) {
        await chat.poll();
        pending.remove(); // 服务器已记录，以日志中的那条为准
      }
      loadPeople(); // 绑定住址等会改变名单上的说明
    } catch (err) {
      pending.classList.add("failed");
      pending.querySelector(".time")?.replaceWith(
        el("button", {
          type: "button",
          class: "retry",
          title: "重新发送",
          "aria-label": "发送失败，重新发送",
          text: "！ 重发",
          onclick: () => {
            pending.nextElementSibling?.classList.contains("notice") && pending.nextElementSibling.remove();
            pending.remove();
            submit(text, extra);
          },
        }),
      );
      failureNote(pending, err.message);
      toast(`发送失败：${err.message}`);
    }
  }

  // ---------- 添加居民、发送位置 ----------

  function openAddResident() {
    const select = $("new-building");
    const keep = select.value;
    select.replaceChildren(select.options[0]);
    for (const g of (state.people && state.people.groups) || []) {
      select.append(el("option", { value: g.id, text: g.name }));
    }
    select.value = keep;
    $("add-resident-error").hidden = true;
    $("add-resident").showModal();
    $("new-name").focus();
  }

  async function addResident(e) {
    e.preventDefault();
    const name = $("new-name").value.trim();
    if (!name) return;
    const body = { name, building: $("new-building").value, room: $("new-room").value.trim() };
    try {
      const made = await postJSON("/api/sim/resident", body);
      $("add-resident").close();
      $("add-resident-form").reset();
      await loadPeople();
      selectPerson("resident", made.id);
    } catch (err) {
      const box = $("add-resident-error");
      box.textContent = err.message;
      box.hidden = false;
    }
  }

  function openLocation() {
    const box = $("location-presets");
    const spots = ((state.people && state.people.groups) || []).filter((g) => g.lat != null && g.lng != null);
    const far = spots.length ? [{ name: "小区外（离楼栋较远）", lat: spots[0].lat + 0.02, lng: spots[0].lng + 0.02 }] : [];
    box.replaceChildren(
      ...[...spots.map((g) => ({ name: `${g.name}附近`, lat: g.lat, lng: g.lng })), ...far].map((spot) =>
        el("button", {
          type: "button",
          class: "chip",
          "data-lat": spot.lat.toFixed(5),
          "data-lng": spot.lng.toFixed(5),
          text: spot.name,
          onclick: () => {
            $("loc-lat").value = spot.lat.toFixed(5);
            $("loc-lng").value = spot.lng.toFixed(5);
          },
        }),
      ),
    );
    $("location-error").hidden = true;
    $("location-dialog").showModal();
  }

  function sendLocation(e) {
    e.preventDefault();
    const lat = Number($("loc-lat").value.trim());
    const lng = Number($("loc-lng").value.trim());
    if (!Number.isFinite(lat) || !Number.isFinite(lng) || Math.abs(lat) > 90 || Math.abs(lng) > 180) {
      const box = $("location-error");
      box.textContent = "纬度在 -90 到 90 之间，经度在 -180 到 180 之间，例如 34.7512 和 112.4125。";
      box.hidden = false;
      return;
    }
    $("location-dialog").close();
    submit(`📍 我的位置：纬度 ${lat.toFixed(5)}，经度 ${lng.toFixed(5)}`, { lat, lng });
  }

  function showList() {
    document.getElementById("app").dataset.view = "list";
    $("search").focus();
  }

  // ---------- 键盘 ----------

  function onListKeydown(e) {
    const keys = ["ArrowDown", "ArrowUp", "Home", "End"];
    if (!keys.includes(e.key) || !e.target.classList.contains("item")) return;
    const items = [...document.querySelectorAll("#people .item")].filter((b) => !b.closest("[hidden]"));
    const i = items.indexOf(e.target);
    let next = i;
    if (e.key === "ArrowDown") next = Math.min(items.length - 1, i + 1);
    if (e.key === "ArrowUp") next = Math.max(0, i - 1);
    if (e.key === "Home") next = 0;
    if (e.key === "End") next = items.length - 1;
    e.preventDefault();
    items[next]?.focus();
  }

  function bind() {
    $("people").addEventListener("click", (e) => {
      const item = e.target.closest(".item");
      if (!item) return;
      if (item.dataset.person) {
        const [kind, ...rest] = item.dataset.person.split(":");
        selectPerson(kind, rest.join(":"));
      } else if (item.dataset.group) {
        selectGroup(item.dataset.group);
      }
    });
    $("people").addEventListener("keydown", onListKeydown);
    $("search").addEventListener("input", applySearch);
    $("search").addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown") {
        e.preventDefault();
        document.querySelector("#people li:not([hidden]) > .item")?.focus();
      }
    });

    const input = $("input");
    $("send-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const text = input.value;
      if (!text.trim()) return;
      input.value = "";
      autoGrow();
      submit(text);
      input.focus();
    });
    input.addEventListener("keydown", (e) => {
      // 中文输入法选词时的 Enter 不发送。
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        $("send-form").requestSubmit();
      }
    });
    input.addEventListener("input", autoGrow);

    $("messages").addEventListener("scroll", () => {
      if (chat.nearBottom()) $("jump").hidden = true;
    });
    $("jump").addEventListener("click", () => {
      chat.scrollToBottom();
      $("jump").hidden = true;
      input.focus();
    });
    $("show-group").addEventListener("click", () => {
      document.getElementById("app").dataset.view = "group";
      $("group-feed").focus();
    });
    $("show-list").addEventListener("click", showList);
    $("group-back").addEventListener("click", showList);
    $("add-resident-open").addEventListener("click", openAddResident);
    $("add-resident-form").addEventListener("submit", addResident);
    $("add-resident-cancel").addEventListener("click", () => $("add-resident").close());
    $("location-open").addEventListener("click", openLocation);
    $("location-form").addEventListener("submit", sendLocation);
    $("location-cancel").addEventListener("click", () => $("location-dialog").close());
    $("show-chat").addEventListener("click", () => {
      document.getElementById("app").dataset.view = "chat";
      input.focus();
    });

    // 机器人每次新回复后刷新快捷回复里的诉求编号。
    new MutationObserver(() => {
      if (state.current && state.current.kind !== "resident") {
        const num = latestNumber() || "";
        if (num !== ($("chips").dataset.number || "")) renderChips();
      }
    }).observe($("messages"), { childList: true });
  }

  // ---------- 轮询 ----------

  let ticks = 0;
  async function tick() {
    ticks += 1;
    try {
      // 名单偶尔刷新一次（别的窗口里可能有居民登记了住址）。
      await Promise.all([chat.poll(), groupFeed.poll(), ticks % 15 === 0 ? loadPeople() : null]);
    } finally {
      setTimeout(tick, POLL_MS);
    }
  }

  async function start() {
    bind();
    while (!(await loadPeople())) {
      await new Promise((r) => setTimeout(r, 2000));
    }
    restoreHash();
    if (!state.current && NARROW.matches) document.getElementById("app").dataset.view = "list";
    setTimeout(tick, POLL_MS);
  }

  start();
})();
