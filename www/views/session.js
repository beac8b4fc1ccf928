// The session indicator in the header: who is signed in, the scopes, and when the access
// token and the session end, counting down; it says when the session has run out.
import { $, h } from "../lib/dom.js";
import { formatDateTime, timeLeft } from "../lib/dates.js";

export function sessionIndicator({ locale, onRunOut }) {
  let session = null;
  let timer = null;
  const toggle = $("session-toggle");
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    $("session-details").hidden = !open;
  });

  function tick() {
    if (!session) return;
    const now = Date.now();
    $("session-access").textContent = session.accessExpiresAt
      ? Date.parse(session.accessExpiresAt) > now ? `expires in ${timeLeft(session.accessExpiresAt, now)}` : "expired; renewed on the next call"
      : "–";
    if (session.sessionExpiresAt) {
      $("session-ends").textContent = `in ${timeLeft(session.sessionExpiresAt, now)} (${formatDateTime(session.sessionExpiresAt, locale)})`;
      if (Date.parse(session.sessionExpiresAt) <= now) {
        session = null;
        onRunOut();
      }
    }
  }

  return {
    /** Shows `info` (`valv.session()`'s answer) for `who` (the account owner's name). */
    show(info, who) {
      session = info;
      $("session").hidden = false;
      $("session-who").replaceChildren(h("span", { class: "sr" }, "Signed in as "), who || "you");
      $("session-provider").textContent = info.provider === "seb" ? "SEB (sandbox)" : info.provider || "–";
      $("session-scopes").textContent = (info.scopes || []).join(", ") || "–";
      tick();
      if (!timer) timer = setInterval(tick, 1000);
    },
    hide() {
      session = null;
      clearInterval(timer);
      timer = null;
      $("session").hidden = true;
      toggle.setAttribute("aria-expanded", "false");
      $("session-details").hidden = true;
    },
  };
}
