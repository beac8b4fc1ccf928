// A Mobile BankID step on screen, for signing in and for signing a payment: BankID's animated
// QR code (the SVG valv-client draws), BankID's words for the step, a link that opens BankID
// on this device and — against the sandbox — a link to the sandbox's stand-in for the app.
import { h } from "./dom.js";

/** Where the sandbox bank runs: `cargo xtask demo` puts it on localhost:8081. */
const SANDBOX = localStorage.getItem("valv-demo-sandbox") || "http://localhost:8081";

/**
 * The panel's parts (`qr`, `message`, `open`, `phone`) to place in a view, `update(u)` for
 * each `onUpdate` of `bankIdLogin`/`signPayment`, and `hide()` when it is over.
 */
export function bankIdPanel(firstMessage) {
  const qr = h("img", { class: "qr", alt: "QR code for Mobile BankID", width: 220, height: 220, hidden: true });
  const message = h("p", { class: "bankid-message", "aria-live": "polite" }, firstMessage);
  const open = h("a", { class: "button", hidden: true }, "Open BankID on this device");
  const phone = h("a", { class: "button ghost", hidden: true, target: "_blank", rel: "noopener" }, "No phone? Use the sandbox's BankID app");
  return {
    qr, message, open, phone,
    update({ message: text, qrSvg, autoStartUrl }) {
      message.textContent = text;
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
    hide() {
      qr.hidden = open.hidden = phone.hidden = true;
    },
  };
}
