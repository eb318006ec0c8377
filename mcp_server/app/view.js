"use strict";
// The View side of MCP Apps (ext-apps protocol 2026-01-26): JSON-RPC over postMessage
// with the host. Every string from the vendor, the model or the host is inserted with
// textContent; the only tools this page calls are the two read-only app tools below.
(() => {
  const VIEW = document.body.dataset.view; // "order" or "account"
  const PROTOCOL_VERSION = "2026-01-26";
  const APP_TOOLS = new Set(["app_order_card", "app_account"]);
  const RETRY_SECONDS = 30;

  const TEXT = {
    en: {
      order: "Order",
      loading: "Loading…",
      count: "Ordered",
      delivered: "Delivered",
      remaining: "Remaining",
      cost: "Cost",
      costUnknown: "not known yet",
      final: "Final",
      active: "In progress",
      finalNote: "Final: this card no longer updates.",
      updated: "Updated {time}; updates by itself until the order is final.",
      refreshFailed: "Could not refresh: {problem}",
      noLiveStatus: "Live status is not available here.",
      simulated: "Simulated: nothing real",
      sandbox: "Sandbox: test orders",
      account: "Account",
      credit: "Credit",
      creditUnknown: "Credit could not be read: {problem}",
      ordersToday: "Orders, last 24 h",
      spentToday: "Spent, last 24 h",
      noCap: "no cap",
      ofCap: "{used} of {cap}",
      recent: "Latest orders placed here",
      noOrders: "No orders placed here yet.",
      outcomeUnknown: "Outcome unknown: check before ordering again",
      pending: "Being sent now",
      failed: "Refused by the service: nothing was placed",
      reserved: "{amount} reserved",
      toolFailed: "The tool failed: {problem}",
      cancelled: "The tool call was cancelled.",
      kinds: {
        profile: "Profile",
        post: "Post",
        reel: "Reel",
        story: "Story",
        link: "Link",
      },
    },
    fa: {
      order: "سفارش",
      loading: "در حال بارگذاری…",
      count: "تعداد",
      delivered: "تحویل‌شده",
      remaining: "باقی‌مانده",
      cost: "هزینه",
      costUnknown: "هنوز معلوم نیست",
      final: "نهایی",
      active: "فعال",
      finalNote: "نهایی: این کارت دیگر به‌روز نمی‌شود.",
      updated: "به‌روزرسانی {time}؛ تا نهایی شدن سفارش خودش به‌روز می‌شود.",
      refreshFailed: "به‌روزرسانی نشد: {problem}",
      noLiveStatus: "وضعیت زنده اینجا در دسترس نیست.",
      simulated: "شبیه‌سازی: هیچ‌چیز واقعی نیست",
      sandbox: "سندباکس: سفارش آزمایشی",
      account: "حساب",
      credit: "اعتبار",
      creditUnknown: "اعتبار خوانده نشد: {problem}",
      ordersToday: "سفارش‌ها، ۲۴ ساعت گذشته",
      spentToday: "هزینه، ۲۴ ساعت گذشته",
      noCap: "بدون سقف",
      ofCap: "{used} از {cap}",
      recent: "آخرین سفارش‌های ثبت‌شده از اینجا",
      noOrders: "هنوز سفارشی از اینجا ثبت نشده است.",
      outcomeUnknown: "نتیجه نامعلوم: پیش از سفارش دوباره بررسی کنید",
      pending: "در حال ارسال",
      failed: "سرویس نپذیرفت: سفارشی ثبت نشد",
      reserved: "{amount} رزرو شده",
      toolFailed: "ابزار خطا داد: {problem}",
      cancelled: "فراخوانی ابزار لغو شد.",
      kinds: {
        profile: "صفحه",
        post: "پست",
        reel: "ریل",
        story: "استوری",
        link: "لینک",
      },
    },
  };

  const state = {
    locale: "en",
    lang: "en",
    card: null, // the order card's data
    ledger: null, // list_orders' result (account view)
    account: null, // app_account's result
    problem: null, // why the last refresh failed
    failure: null, // the tool's own error (isError result)
    updatedAt: null,
    live: true, // false once the host or server cannot run the app tools
  };
  let nextId = 1;
  const pending = new Map();
  let timer = null;
  let refreshing = false;
  let stopped = false;

  // --- protocol -------------------------------------------------------------

  function send(message) {
    window.parent.postMessage(message, "*");
  }

  function request(method, params) {
    const id = nextId++;
    send({ jsonrpc: "2.0", id, method, params });
    return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
  }

  function notify(method, params) {
    send({ jsonrpc: "2.0", method, params });
  }

  function callAppTool(name, args) {
    if (!APP_TOOLS.has(name)) throw new Error("not an app tool");
    return request("tools/call", { name, arguments: args });
  }

  function onMessage(event) {
    if (event.source !== window.parent) return;
    const message = event.data;
    if (!message || message.jsonrpc !== "2.0") return;
    if (message.method === undefined) {
      const waiting = pending.get(message.id);
      if (waiting === undefined) return;
      pending.delete(message.id);
      if (message.error) {
        const error = new Error(String(message.error.message));
        error.code = message.error.code;
        waiting.reject(error);
      } else {
        waiting.resolve(message.result);
      }
      return;
    }
    handle(message);
  }

  function handle(message) {
    const params = message.params || {};
    switch (message.method) {
      case "ui/notifications/tool-input":
        onToolInput(params.arguments || {});
        break;
      case "ui/notifications/tool-result":
        onToolResult(params);
        break;
      case "ui/notifications/host-context-changed":
        applyContext(params);
        render();
        break;
      case "ui/notifications/tool-cancelled":
        state.failure = t("cancelled");
        render();
        break;
      case "ui/resource-teardown":
        stop();
        send({ jsonrpc: "2.0", id: message.id, result: {} });
        break;
      case "ping":
        send({ jsonrpc: "2.0", id: message.id, result: {} });
        break;
      default:
        if (message.id !== undefined) {
          send({
            jsonrpc: "2.0",
            id: message.id,
            error: { code: -32601, message: "Method not found" },
          });
        }
    }
  }

  // --- host context: locale, theme, style variables --------------------------

  function applyContext(context) {
    if (typeof context.locale === "string" && context.locale) {
      state.locale = context.locale;
      state.lang = context.locale.toLowerCase().startsWith("fa") ? "fa" : "en";
      document.documentElement.lang = state.lang;
      document.documentElement.dir = state.lang === "fa" ? "rtl" : "ltr";
    }
    if (context.theme === "light" || context.theme === "dark") {
      document.documentElement.dataset.theme = context.theme;
    }
    const variables = context.styles && context.styles.variables;
    if (variables && typeof variables === "object") {
      for (const [name, value] of Object.entries(variables)) {
        if (name.startsWith("--") && typeof value === "string") {
          document.documentElement.style.setProperty(name, value);
        }
      }
    }
  }

  function t(key, values) {
    const table = TEXT[state.lang];
    let text = table[key] === undefined ? TEXT.en[key] : table[key];
    for (const [name, value] of Object.entries(values || {})) {
      text = text.replace("{" + name + "}", String(value));
    }
    return text;
  }

  function number(value, digits) {
    return new Intl.NumberFormat(numberLocale(), { maximumFractionDigits: digits || 0 }).format(
      value,
    );
  }

  function numberLocale() {
    return state.lang === "fa" ? "fa-IR" : state.locale;
  }

  // --- data -------------------------------------------------------------------

  function onToolInput(args) {
    if (VIEW === "order" && state.card === null && Number.isInteger(args.order_id)) {
      state.card = { order_id: args.order_id };
      render();
    }
  }

  function onToolResult(result) {
    const data = result.structuredContent;
    if (result.isError || !data || typeof data !== "object") {
      state.failure = t("toolFailed", { problem: resultText(result) });
      render();
      return;
    }
    state.failure = null;
    if (VIEW === "account") {
      state.ledger = data;
      render();
      loadAccount();
      return;
    }
    // An order's status, or a new order: what is known now, then the full card.
    state.card = Object.assign({}, state.card, data);
    render();
    if (timer !== null) clearTimeout(timer); // a repeated result restarts, never doubles, polling
    if (!refreshing) refresh();
  }

  function resultText(result) {
    const first = (result.content || []).find((block) => block && block.type === "text");
    return first ? String(first.text) : "";
  }

  async function refresh() {
    timer = null;
    if (stopped || !state.live || !state.card) return;
    let wait = RETRY_SECONDS;
    refreshing = true;
    try {
      const result = await callAppTool("app_order_card", { order_id: state.card.order_id });
      if (result.isError || !result.structuredContent) {
        state.problem = resultText(result);
        if (state.problem.startsWith("Unknown tool")) state.live = false;
      } else {
        state.card = result.structuredContent;
        state.problem = null;
        state.updatedAt = new Date();
        wait = state.card.refresh_seconds;
      }
    } catch (error) {
      state.problem = String(error.message || error);
      if (error.code === -32601) state.live = false; // the host does not forward tool calls
    }
    refreshing = false;
    render();
    const active = state.live && !(state.card.is_final && state.problem === null);
    if (!stopped && active && typeof wait === "number" && wait > 0) {
      timer = setTimeout(refresh, wait * 1000);
    }
  }

  async function loadAccount() {
    if (!state.live) return;
    try {
      const result = await callAppTool("app_account", {});
      if (!result.isError && result.structuredContent) {
        state.account = result.structuredContent;
        state.problem = null;
      } else {
        state.problem = resultText(result);
      }
    } catch (error) {
      state.problem = String(error.message || error);
    }
    render();
  }

  function stop() {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }

  // --- rendering (text only) ----------------------------------------------------

  function node(tag, className, text) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined && text !== null) element.textContent = String(text);
    return element;
  }

  // Vendor or model text, isolated: the browser picks its direction from its first strong
  // letter, while the block around it keeps the page's direction and alignment.
  function vendor(tag, className, text) {
    const element = node(tag, className);
    const isolated = node("bdi", "", text);
    isolated.dir = "auto";
    element.append(isolated);
    return element;
  }

  function render() {
    const root = document.getElementById("app");
    const content = VIEW === "account" ? renderAccount() : renderOrder();
    root.replaceChildren(...content);
  }

  function environmentBadge(environment) {
    if (environment !== "simulated" && environment !== "sandbox") return null;
    return node("span", "badge badge-" + environment, t(environment));
  }

  function header(title, environment, titleIsVendor) {
    const row = node("div", "header");
    row.append(titleIsVendor ? vendor("h1", "title", title) : node("h1", "title", title));
    const badge = environmentBadge(environment);
    if (badge) row.append(badge);
    return row;
  }

  function targetLine(card) {
    const line = node("p", "subtitle");
    line.append(node("span", "order-id", t("order") + " #" + number(card.order_id)));
    if (card.target) {
      line.append(node("span", "separator", " · "));
      line.append(node("span", "target-kind", t("kinds")[card.target.kind] || card.target.kind));
      line.append(" ");
      const target = node("bdi", "target", card.target.text);
      target.dir = "ltr";
      line.append(target);
    }
    return line;
  }

  function progressBar(percent, label) {
    const bar = node("div", "bar");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.setAttribute("aria-valuenow", String(percent));
    bar.setAttribute("aria-label", label);
    const fill = node("div", "fill");
    fill.style.width = Math.max(0, Math.min(100, percent)) + "%";
    bar.append(fill);
    return bar;
  }

  function figure(label, value, className) {
    const cell = node("div", "figure" + (className ? " " + className : ""));
    cell.append(node("span", "label", label), node("span", "value", value));
    return cell;
  }

  function renderOrder() {
    const card = state.card;
    if (!card) return waiting();
    const title = card.service_name || (card.service_id ? "#" + number(card.service_id) : t("order"));
    const parts = [header(title, card.environment, Boolean(card.service_name)), targetLine(card)];
    parts.push(statusRow(card));
    if (typeof card.progress === "number") {
      parts.push(progressBar(card.progress, t("delivered")));
    }
    const figures = node("div", "figures");
    const known = (value) => (typeof value === "number" ? number(value) : "—");
    figures.append(
      figure(t("count"), known(card.count)),
      figure(t("delivered"), known(card.delivered), "delivered"),
      figure(t("remaining"), known(card.remain), "remaining"),
      figure(t("cost"), typeof card.cost === "number" ? number(card.cost, 2) : t("costUnknown")),
    );
    parts.push(figures, footer(card));
    return withFailure(parts);
  }

  function statusRow(card) {
    const row = node("div", "status");
    if (typeof card.is_final === "boolean") {
      const chip = node("span", card.is_final ? "chip chip-final" : "chip chip-active");
      chip.textContent = card.is_final ? t("final") : t("active");
      row.append(chip);
    }
    if (card.status_title || card.status) {
      row.append(vendor("span", "status-title", card.status_title || card.status));
    }
    if (typeof card.progress === "number") {
      row.append(node("span", "percent", percentText(card.progress)));
    }
    return row;
  }

  function footer(card) {
    if (card.is_final && state.problem === null) return node("p", "footer", t("finalNote"));
    if (!state.live) return node("p", "footer", t("noLiveStatus"));
    if (state.problem !== null) {
      return vendor("p", "footer problem", t("refreshFailed", { problem: state.problem }));
    }
    if (state.updatedAt) {
      const time = state.updatedAt.toLocaleTimeString(numberLocale());
      return node("p", "footer", t("updated", { time }));
    }
    return node("p", "footer", t("loading"));
  }

  function waiting() {
    return state.failure === null ? [node("p", "muted", t("loading"))] : withFailure([]);
  }

  function withFailure(parts) {
    return state.failure === null ? parts : [vendor("p", "problem", state.failure), ...parts];
  }

  function renderAccount() {
    const data = state.account || state.ledger;
    if (!data) return waiting();
    const parts = [header(t("account"), data.environment, false)];
    parts.push(creditBlock());
    parts.push(capBlock(t("ordersToday"), data.orders_last_24h, data.max_orders_per_day, 0));
    const reserved = data.reserved_last_24h || 0;
    const spent = capBlock(t("spentToday"), data.spent_last_24h, data.max_spend_per_day, 2, reserved);
    if (reserved > 0) {
      spent.append(node("span", "label", t("reserved", { amount: number(reserved, 2) })));
    }
    parts.push(spent);
    parts.push(node("h2", "section", t("recent")));
    const orders = (state.account && state.account.orders) || data.orders || [];
    if (orders.length === 0) parts.push(node("p", "muted", t("noOrders")));
    else parts.push(orderList(orders));
    if (state.problem !== null) parts.push(vendor("p", "footer problem", state.problem));
    return withFailure(parts);
  }

  function creditBlock() {
    const block = node("div", "credit");
    block.append(node("span", "label", t("credit")));
    const account = state.account;
    if (account && typeof account.credit === "number") {
      block.append(node("span", "credit-value", number(account.credit, 2)));
    } else if (account && account.credit_problem) {
      block.append(vendor("span", "problem", t("creditUnknown", { problem: account.credit_problem })));
    } else {
      block.append(node("span", "muted", "—"));
    }
    return block;
  }

  // The bar counts what is reserved too: the cap does.
  function capBlock(label, used, cap, digits, reserved) {
    const block = node("div", "cap");
    const row = node("div", "cap-row");
    row.append(node("span", "label", label));
    const text =
      typeof cap === "number"
        ? t("ofCap", { used: number(used, digits), cap: number(cap, digits) })
        : number(used, digits) + " (" + t("noCap") + ")";
    row.append(node("span", "value", text));
    block.append(row);
    if (typeof cap === "number" && cap > 0) {
      block.append(progressBar(Math.round(((used + (reserved || 0)) * 100) / cap), label));
    }
    return block;
  }

  function orderList(orders) {
    const list = node("ul", "orders");
    for (const order of orders) {
      const item = node("li", "order-line");
      const name = order.service_name || (order.service_id ? "#" + number(order.service_id) : "—");
      const top = node("div", "line-top");
      top.append(vendor("span", "line-service", name));
      if (typeof order.order_id === "number") {
        top.append(node("span", "line-id", "#" + number(order.order_id)));
      }
      item.append(top);
      const bottom = node("div", "line-bottom");
      if (order.target) {
        const target = node("span", "line-target");
        const kind = t("kinds")[order.target.kind] || order.target.kind;
        const text = node("bdi", "target", order.target.text);
        text.dir = "ltr";
        target.append(kind + " ", text);
        bottom.append(target);
      }
      if (typeof order.count === "number") {
        bottom.append(node("span", "", t("count") + " " + number(order.count)));
      }
      const cost = typeof order.cost === "number" ? number(order.cost, 2) : t("costUnknown");
      bottom.append(node("span", "", t("cost") + " " + cost));
      item.append(bottom);
      if (order.status) item.append(...lineStatus(order.status));
      const outcome = { outcome_unknown: "outcomeUnknown", pending: "pending", failed: "failed" };
      if (outcome[order.outcome]) item.append(node("p", "problem", t(outcome[order.outcome])));
      list.append(item);
    }
    return list;
  }

  function lineStatus(status) {
    const row = node("div", "status line-status");
    const chip = node("span", status.is_final ? "chip chip-final" : "chip chip-active");
    chip.textContent = status.is_final ? t("final") : t("active");
    row.append(chip, vendor("span", "status-title", status.status_title));
    row.append(node("span", "percent", percentText(status.progress)));
    return [row, progressBar(status.progress, t("delivered"))];
  }

  function percentText(progress) {
    const format = new Intl.NumberFormat(numberLocale(), {
      style: "percent",
      maximumFractionDigits: 1,
    });
    return format.format(progress / 100);
  }

  // --- start ----------------------------------------------------------------------

  function reportSize() {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    notify("ui/notifications/size-changed", { height });
  }

  async function start() {
    window.addEventListener("message", onMessage);
    render();
    const result = await request("ui/initialize", {
      appInfo: { name: "happy-follower-" + VIEW, version: "1" },
      appCapabilities: {},
      protocolVersion: PROTOCOL_VERSION,
    });
    applyContext((result && result.hostContext) || {});
    // A host that cannot forward tool calls still shows the tool's result, just not live.
    state.live = Boolean(result && result.hostCapabilities && result.hostCapabilities.serverTools);
    render();
    notify("ui/notifications/initialized", {});
    new ResizeObserver(reportSize).observe(document.documentElement);
  }

  start().catch((error) => {
    state.failure = String(error.message || error);
    render();
  });
})();
