// Sign in with Mobile BankID, without leaving the page: valv.bankIdLogin() runs the bank's
// decoupled login through the broker; this screen shows BankID's animated QR code and its
// words for each step, a link that opens BankID on this device, and — in the sandbox — a
// link to the sandbox's stand-in for the BankID app.
import { h } from "../lib/dom.js";

/** Where the sandbox bank runs: `cargo xtask demo` puts it on localhost:8081. */
const SANDBOX = localStorage.getItem("valv-demo-sandbox") || "http://localhost:8081";

export function render(view, ctx) {
  const { valv, onCancel, fail, signal } = ctx;
  const controller = new AbortController(); // the Cancel button
  const qr = h("img", { class: "qr", alt: "QR code for Mobile BankID", width: 220, height: 220, hidden: true });
  const message = h("p", { class: "bankid-message", "aria-live": "polite" }, "Starting Mobile BankID…");
  const open = h("a", { class: "button", hidden: true }, "Open BankID on this device");
  const phone = h("a", { class: "button ghost", hidden: true, target: "_blank", rel: "noopener" }, "No phone? Use the sandbox's BankID app");
  let over = false; // the login ended (failed): Cancel only goes back
  const cancel = h("button", { type: "button", class: "ghost", onclick: () => (over ? onCancel() : controller.abort()) }, "Cancel");
  const again = h("button", { type: "button", class: "primary", hidden: true, onclick: () => render(view, ctx) }, "Try again");
  view.replaceChildren(
    h("section", { class: "card bankid", "aria-labelledby": "bankid-title" },
      h("h1", { id: "bankid-title", tabindex: "-1" }, "Sign in with Mobile BankID"),
      h("p", {}, "Scan the QR code with the BankID app on your phone, or open BankID on this device."),
      qr, message,
      h("div", { class: "actions" }, open, phone, again, cancel),
    ),
  );
  view.querySelector("#bankid-title").focus();

  valv
    .bankIdLogin({
      returnTo: "/",
      // Cancelled here, or this screen was replaced (the app signed in, or went elsewhere).
      signal: AbortSignal.any([controller.signal, signal]),
      onUpdate({ status, message: text, qrSvg, autoStartUrl }) {
        message.textContent = text;
        view.querySelector(".bankid").dataset.status = status;
        if (qrSvg) {
          qr.src = `data:image/svg+xml,${encodeURIComponent(qrSvg)}`;
          qr.hidden = false;
        }
        if (autoStartUrl) {
          open.href = autoStartUrl;
          open.hidden = false;
          const token = new URL(autoStartUrl).searchParams.get("autostarttoken");
          phone.href = `${SANDBOX}/phone?autostarttoken=${encodeURIComponent(token)}`;
          phone.hidden = false;
        }
      },
    })
    .catch((err) => {
      if (err.code === "aborted") {
        if (controller.signal.aborted) onCancel();
        return;
      }
      over = true;
      qr.hidden = open.hidden = phone.hidden = true;
      if (err.code === "login_failed") {
        message.textContent = err.message; // BankID's own words: "Action cancelled.", …
        again.hidden = false;
        again.focus();
      } else {
        fail(err, () => render(view, ctx));
      }
    });
  // Signed in: the app hears it through valv.onSessionChange and shows the accounts.
}
