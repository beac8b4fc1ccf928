// A bundled, type-checked app using valv-client. Nothing listens at its baseUrl, so the
// expected results are errors; the page shows "OK" when every expectation held.
import init, {
  Valv, ValvError, type Account, type TransactionsPage, type ValvErrorCode, type SessionChange, type Session,
  type PaymentInitiation, type Amount, type BalanceType, type Transaction, type Authorisation, type ProblemDetails,
  type BankIdUpdate, type AccountReference,
} from "valv-client";

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

// The models' declarations (generated from valv-psd2's Rust types) as a caller uses them.
const payment: PaymentInitiation = {
  templateId: "swedish-domestic-private-bankgiros",
  instructedAmount: { amount: "150.00", currency: "SEK" },
  debtorAccount: { iban: "SE3750000000054400047881" },
  creditorAccount: { bgnr: "5555-5555" },
  creditorAccountMessage: "Invoice 42",
};
const future: BalanceType = "aBalanceTypeOfTomorrow"; // open enums take values added later
const booked: BalanceType = "interimAvailable";
const amountText: string = payment.instructedAmount.amount;
// @ts-expect-error amounts are decimal text, never numbers
const floatAmount: Amount = { amount: 150.0, currency: "SEK" };
// @ts-expect-error a payment names what it pays
const noAmount: PaymentInitiation = { debtorAccount: {}, creditorAccount: {} };
// @ts-expect-error a misspelt member is caught, not taken for one the bank might add
const typo: AccountReference = { ibna: "SE3750000000054400047881" };
const signedOut: Session = { authenticated: false };
// @ts-expect-error the session says whether it is authenticated
const noFlag: Session = { provider: "seb" };
const tx = (t: Transaction): string => t.transactionAmount.amount;
const qr = (a: Authorisation): string | undefined => a.qrData ?? a.autoStartToken ?? a._links?.scaStatus?.href;
const detail = (p: ProblemDetails): string | undefined => p.detail ?? p.tppMessages?.map((m) => (typeof m === "string" ? m : m.text)).join();
const update: BankIdUpdate = { status: "pending", message: "Start your BankID app." };
void [future, booked, amountText, floatAmount, noAmount, typo, signedOut, noFlag, tx, qr, detail, update];

document.getElementById("out")!.textContent = problems.length ? `FAIL\n${problems.join("\n")}` : "OK";
