import init, { Valv, ValvError } from "./pkg/valv_client.js";

await init(); // loads the WebAssembly module once
export const valv = new Valv({ baseUrl: "", provider: "seb", timeoutMs: 15000, retries: 2 });

// Fires on login, logout and expiry, in this tab and in the app's other tabs.
valv.onSessionChange((change) => console.info("valv session:", change.type));

// Sends the browser to the bank's login through the broker; it comes back to returnTo.
export function login() {
  valv.login({ returnTo: "/", scopes: ["psd2_accounts", "psd2_payments"] });
}

// Accounts with balances and their newest booked transactions, or null when logged out.
export async function overview() {
  const session = await valv.session();
  if (!session.authenticated) return null;
  const accounts = await valv.accounts({ withBalance: true });
  const result = [];
  for (const account of accounts) {
    const pages = valv.transactions(account.resourceId, { bookingStatus: "booked" });
    const first = await pages.next(); // or: for await (const page of pages) { … }
    result.push({ account, transactions: first.done ? [] : first.value.transactions.booked ?? [] });
  }
  return result;
}

// Every failure is a ValvError: a stable code for the program, a requestId for support.
export function describe(err) {
  if (!(err instanceof ValvError)) return String(err);
  return `${err.code} (HTTP ${err.status}, request ${err.requestId ?? "-"}): ${err.message}`;
}
