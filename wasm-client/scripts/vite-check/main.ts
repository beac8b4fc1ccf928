// A bundled, type-checked app using valv-client. Nothing listens at its baseUrl, so the
// expected results are errors; the page shows "OK" when every expectation held.
import init, { Valv, ValvError, type Account, type TransactionsPage, type ValvErrorCode, type SessionChange } from "valv-client";

const problems: string[] = [];
const expect = (ok: boolean, what: string) => { if (!ok) problems.push(what); };

await init();
const valv = new Valv({ baseUrl: "http://127.0.0.1:9", provider: "seb", timeoutMs: 1000, retries: 0 });
const unsubscribe: () => void = valv.onSessionChange((c: SessionChange) => problems.push(`unexpected ${c.type}`));
unsubscribe();

try {
  const accounts: Account[] = await valv.accounts({ withBalance: true });
  const amount: string | undefined = accounts[0]?.balances?.[0]?.balanceAmount.amount;
  problems.push(`accounts resolved: ${amount}`);
} catch (e) {
  const code: ValvErrorCode | undefined = e instanceof ValvError ? e.code : undefined;
  expect(code === "network", `accounts: ${code}`);
  expect(e instanceof ValvError && e.status === 0 && e.requestId?.length === 36, "accounts: status/requestId");
}
try {
  for await (const page of valv.transactions("a1", { bookingStatus: "booked" })) {
    const p: TransactionsPage = page;
    problems.push(`page resolved: ${p.transactions.booked?.length}`);
  }
} catch (e) {
  expect(e instanceof ValvError && e.code === "network", "transactions: network");
}
try {
  await valv.account("");
  problems.push("account('') resolved");
} catch (e) {
  expect(e instanceof ValvError && e instanceof Error && e.code === "invalid_argument", "account(''): invalid_argument");
}
document.getElementById("out")!.textContent = problems.length ? `FAIL\n${problems.join("\n")}` : "OK";
