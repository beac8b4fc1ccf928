//! Test persons, their accounts and transactions, payments: the bank's data.
//!
//! Everything is derived deterministically from the person's number (a SHA-256 seeded
//! generator, no run-time randomness): the same person always has the same accounts,
//! balances and transaction history, dated back from the day the bank was created or reset.
//! The first person, `9311219639`, owns the accounts SEB's Postman collections use
//! (`SE3750000000054400047881`, `SE2550000000054400047903`).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::{Date, Duration, OffsetDateTime};
use valv_psd2::payment::{PaymentInitiation, PaymentProduct, TransactionStatus};

use crate::auth::TEST_PERSONS;
use crate::signing::Authorisation;

/// The accounts SEB's Postman collections pay from and to (the first test person's): usable
/// as a debtor by every test person, as in SEB's sandbox.
pub const EXAMPLE_ACCOUNTS: [&str; 2] = ["SE3750000000054400047881", "SE2550000000054400047903"];

/// Is `number` (IBAN or BBAN, no spaces) one of [`EXAMPLE_ACCOUNTS`].
fn is_example_account(number: &str) -> bool {
    EXAMPLE_ACCOUNTS.iter().any(|iban| *iban == number || iban[4..] == *number)
}

/// Booked transactions per page of an undated transaction list (SEB: at most 199).
pub const PAGE_SIZE: usize = 199;
/// Calls a day per person, account and operation without `PSU-IP-Address` (SEB's rule).
pub const DAILY_LIMIT: u32 = 4;

/// A deterministic generator seeded from text.
struct Rng(u64);

impl Rng {
    fn new(seed: &str) -> Self {
        let h = Sha256::digest(seed.as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[..8]);
        Self(u64::from_le_bytes(b) | 1)
    }
    /// xorshift64*.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn hex_id(seed: &str, len: usize) -> String {
    let h = Sha256::digest(seed.as_bytes());
    h.iter().map(|b| format!("{b:02x}")).collect::<String>()[..len].to_owned()
}

/// Öre (1/100 SEK) as SEB's decimal string with `scale` decimals, e.g. `-63.0`, `40055.940`;
/// two decimals where fewer would drop öre.
pub fn money(ore: i64, scale: u32) -> String {
    let sign = if ore < 0 { "-" } else { "" };
    let abs = ore.unsigned_abs();
    let whole = abs / 100;
    let cents = abs % 100;
    match scale {
        // Fewer than two decimals only when that is exact: an amount is never shown rounded.
        0 if cents == 0 => format!("{sign}{whole}"),
        1 if cents.is_multiple_of(10) => format!("{sign}{whole}.{}", cents / 10),
        0..=2 => format!("{sign}{whole}.{cents:02}"),
        _ => format!("{sign}{whole}.{cents:02}{}", "0".repeat(scale as usize - 2)),
    }
}

/// One booked or pending transaction.
#[derive(Debug, Clone)]
pub struct Tx {
    /// Stable id.
    pub id: String,
    /// Sequence number among the account's booked transactions (oldest = 1); 0 for pending.
    pub seq: usize,
    /// Booking (or expected value) date.
    pub date: Date,
    /// Signed amount in öre.
    pub ore: i64,
    /// Balance after it (booked only), öre.
    pub balance_after: Option<i64>,
    /// Counterparty name.
    pub counterparty: String,
    /// Message / remittance text.
    pub text: String,
    /// SEB's proprietary code and its text.
    pub code: (&'static str, &'static str),
    /// Pending type (`upcoming` / `reserved`) for pending transactions.
    pub pending_type: Option<&'static str>,
}

/// One account of a test person.
#[derive(Debug, Clone)]
pub struct Account {
    /// Opaque id used in paths.
    pub resource_id: String,
    /// IBAN.
    pub iban: String,
    /// BBAN (clearing + account number).
    pub bban: String,
    /// Product name.
    pub product: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Owner.
    pub owner: String,
    /// Credit line in öre.
    pub credit_line: i64,
    /// Booked balance, öre.
    pub booked_balance: i64,
    /// Booked transactions, newest first.
    pub booked: Vec<Tx>,
    /// Pending transactions.
    pub pending: Vec<Tx>,
}

impl Account {
    /// Available balance: booked + credit line + pending (pending amounts are negative).
    pub fn available(&self) -> i64 {
        self.booked_balance + self.credit_line + self.pending.iter().map(|t| t.ore).sum::<i64>()
    }

    /// Books an outgoing payment of `ore` today: a new newest booked transaction.
    pub fn book_payment(&mut self, id: &str, ore: i64, counterparty: &str, text: &str, today: Date) {
        self.booked_balance -= ore;
        let seq = self.booked.first().map_or(1, |t| t.seq + 1);
        self.booked.insert(
            0,
            Tx {
                id: id.to_owned(),
                seq,
                date: today,
                ore: -ore,
                balance_after: Some(self.booked_balance),
                counterparty: counterparty.to_owned(),
                text: text.to_owned(),
                code: ("BETALNING", "Payment"),
                pending_type: None,
            },
        );
    }

    /// The account as SEB lists it (`withBalance` adds balances).
    pub fn to_json(&self, with_balance: bool, details: bool) -> Value {
        let mut v = json!({
            "resourceId": self.resource_id,
            "iban": self.iban,
            "bban": self.bban,
            "status": "enabled",
            "currency": "SEK",
            "ownerName": self.owner,
            "creditLine": money(self.credit_line, 3),
            "product": self.product,
            "name": self.name,
            "_links": {
                "transactions": {"href": format!("/accounts/{}/transactions?bookingStatus=booked", self.resource_id)},
                "balances": {"href": format!("/accounts/{}/balances", self.resource_id)},
            }
        });
        if details {
            v["bic"] = json!("ESSESESS");
            v["cardLinkedToAccount"] = json!(false);
            v["paymentService"] = json!(true);
            v["accountInterest"] = json!("0.000");
            v["aliases"] = json!([]);
        }
        if with_balance {
            v["balances"] = self.balances_json();
        }
        v
    }

    /// `interimBooked` and `interimAvailable`.
    pub fn balances_json(&self) -> Value {
        json!([
            {"balanceType": "interimBooked", "creditLimitIncluded": false,
             "balanceAmount": {"amount": money(self.booked_balance, 3), "currency": "SEK"}},
            {"balanceType": "interimAvailable", "creditLimitIncluded": true,
             "balanceAmount": {"amount": money(self.available(), 3), "currency": "SEK"}},
        ])
    }

    /// A transaction in a list (`details` adds what the details endpoint shows).
    pub fn tx_json(&self, t: &Tx, details: bool) -> Value {
        let amount = json!({"amount": money(t.ore, 1 + (t.ore.unsigned_abs() % 3) as u32), "currency": "SEK"});
        if let Some(kind) = t.pending_type {
            let mut v = json!({
                "transactionId": t.id,
                "creditorName": t.counterparty,
                "transactionAmount": amount,
                "valueDate": t.date.to_string(),
                "pendingType": kind,
                "remittanceInformationUnstructured": t.text,
            });
            if details {
                v["creditorAccount"] = json!({"bban": "50000000054400047903"});
            }
            return v;
        }
        let mut v = json!({
            "transactionId": t.id,
            "entryReference": format!("{:010}", t.seq),
            "bookingDate": t.date.to_string(),
            "valueDate": t.date.to_string(),
            "transactionDate": t.date.to_string(),
            "descriptiveText": t.counterparty,
            "transactionAmount": amount,
            "balanceAfterTransaction": {"amount": money(t.balance_after.unwrap_or_default(), 3), "currency": "SEK"},
            "proprietaryBankTransactionCode": t.code.0,
            "proprietaryBankTransactionCodeText": t.code.1,
            "_links": {"transactionDetails": {"href": format!("/accounts/{}/transactions/{}", self.resource_id, t.id)}},
        });
        if details {
            v["remittanceInformationUnstructured"] = json!(t.text);
            if t.ore < 0 {
                v["creditorName"] = json!(t.counterparty);
                v["debtorAccount"] = json!({"iban": self.iban});
            } else {
                v["debtorName"] = json!(t.counterparty);
                v["creditorAccount"] = json!({"iban": self.iban});
            }
            v["currencyExchange"] = json!([]);
        }
        v
    }
}

/// (counterparty, text, (code, code text), smallest öre, largest öre).
type Kind = (&'static str, &'static str, (&'static str, &'static str), i64, i64);

const SPENDING: &[Kind] = &[
    ("ICA Supermarket", "Kortköp ICA", ("KORTKÖP", "Card purchase"), 4_000, 120_000),
    ("Coop Konsum", "Kortköp Coop", ("KORTKÖP", "Card purchase"), 3_000, 90_000),
    ("SL Access", "SL reskassa", ("KORTKÖP", "Card purchase"), 3_900, 97_000),
    ("Systembolaget", "Kortköp Systembolaget", ("KORTKÖP", "Card purchase"), 8_900, 60_000),
    ("Vattenfall AB", "El november", ("BG", "Bankgiro payment"), 45_000, 180_000),
    ("Telia Sverige", "Mobilabonnemang", ("AUTOGIRO", "Direct debit"), 19_900, 49_900),
    ("Spotify", "Spotify Premium", ("KORTKÖP", "Card purchase"), 11_900, 21_900),
    ("Apoteket", "Kortköp Apoteket", ("KORTKÖP", "Card purchase"), 5_000, 40_000),
    ("Swish", "Swish till vän", ("SWISH", "Swish payment"), 5_000, 150_000),
    ("Hyresvärden AB", "Hyra", ("BG", "Bankgiro payment"), 650_000, 1_200_000),
];

const INCOME: &[Kind] = &[
    ("Arbetsgivaren AB", "Lön", ("LÖN", "Salary"), 2_800_000, 4_200_000),
    ("Försäkringskassan", "Barnbidrag", ("INSÄTTNING", "Deposit"), 125_000, 125_000),
    ("Swish", "Swish från vän", ("SWISH", "Swish payment"), 5_000, 80_000),
];

const OWNERS: [&str; 5] = ["Anna Andersson", "Erik Eriksson", "Maria Johansson", "Lars Nilsson", "Karin Larsson"];

#[allow(clippy::too_many_arguments)]
fn generate_account(
    person: &str,
    idx: usize,
    iban: String,
    product: &'static str,
    name: &'static str,
    owner: &str,
    count: usize,
    today: Date,
) -> Account {
    let mut rng = Rng::new(&format!("{person}/{iban}"));
    let resource_id = hex_id(&format!("account/{person}/{iban}"), 32);
    let bban = iban[4..].to_owned();
    let savings = idx > 0;
    // Transactions from oldest to newest, spread over ~18 months.
    let span_days = 540i64;
    // The balance today is a realistic positive figure; the history is fitted to end there.
    let target: i64 = if savings { 5_000_000 } else { 1_500_000 } + rng.below(3_000_000) as i64;
    let mut balance: i64 = 0;
    let mut txs = Vec::with_capacity(count);
    for i in 0..count {
        let day_offset = span_days - (span_days * i as i64) / count as i64;
        let date = today - Duration::days(day_offset.max(1));
        let income = if savings { rng.below(3) != 0 } else { rng.below(8) == 0 };
        let (cp, text, code, lo, hi) = if income { *rng.pick(INCOME) } else { *rng.pick(SPENDING) };
        let mut ore = lo + rng.below((hi - lo + 1) as u64) as i64;
        if savings {
            ore /= 10;
        }
        if !income {
            ore = -ore;
        }
        balance += ore;
        txs.push(Tx {
            id: format!("{}{:05}", &resource_id[..8], i + 1),
            seq: i + 1,
            date,
            ore,
            balance_after: Some(balance),
            counterparty: cp.to_owned(),
            text: text.to_owned(),
            code,
            pending_type: None,
        });
    }
    let start = target - balance;
    for t in &mut txs {
        t.balance_after = t.balance_after.map(|b| b + start);
    }
    balance = target;
    txs.reverse();
    let pending = (0..if savings { 1 } else { 3 })
        .map(|i| {
            let (cp, text, _, lo, hi) = *rng.pick(SPENDING);
            Tx {
                id: format!("{}P{:04}", &resource_id[..8], i + 1),
                seq: 0,
                date: today + Duration::days(i as i64 + 1),
                ore: -(lo + rng.below((hi - lo + 1) as u64) as i64),
                balance_after: None,
                counterparty: cp.to_owned(),
                text: text.to_owned(),
                code: ("", ""),
                pending_type: Some(if i % 2 == 0 { "upcoming" } else { "reserved" }),
            }
        })
        .collect();
    Account {
        resource_id,
        iban,
        bban,
        product,
        name,
        owner: owner.to_owned(),
        credit_line: if savings { 0 } else { 2_000_000 },
        booked_balance: balance,
        booked: txs,
        pending,
    }
}

fn swedish_iban(seed: &str) -> String {
    let mut rng = Rng::new(seed);
    let digits: String = (0..11).map(|_| char::from(b'0' + rng.below(10) as u8)).collect();
    // Check digits per ISO 13616 (mod 97) for "SE" + "500000000" + digits.
    let bban = format!("500000000{digits}");
    let numeric = format!("{bban}281400"); // S=28, E=14, "00"
    let rem = numeric.bytes().fold(0u64, |acc, b| (acc * 10 + u64::from(b - b'0')) % 97);
    format!("SE{:02}{bban}", 98 - rem)
}

fn accounts_for(person: &str, today: Date) -> Vec<Account> {
    let n = TEST_PERSONS.iter().position(|p| *p == person).unwrap_or(0);
    let owner = OWNERS[n];
    let (main, saving) = if n == 0 {
        ("SE3750000000054400047881".to_owned(), "SE2550000000054400047903".to_owned())
    } else {
        (swedish_iban(&format!("{person}/main")), swedish_iban(&format!("{person}/savings")))
    };
    let mut list = vec![
        generate_account(person, 0, main, "Privatkonto", "Lönekonto", owner, 460 + n * 17, today),
        generate_account(person, 1, saving, "Sparkonto", "Buffert", owner, 120 + n * 5, today),
    ];
    if n % 2 == 0 {
        list.push(generate_account(person, 2, swedish_iban(&format!("{person}/extra")), "e-konto", "Vardag", owner, 210, today));
    }
    list
}

/// A payment (or a periodic payment) the bank has received.
#[derive(Debug, Clone)]
pub struct Payment {
    /// Id.
    pub id: String,
    /// Owner.
    pub person: String,
    /// `payments` or `periodic-payments`.
    pub service: &'static str,
    /// Product (template id).
    pub product: PaymentProduct,
    /// The initiation body as received (validated).
    pub body: PaymentInitiation,
    /// Current status.
    pub status: TransactionStatus,
    /// Its authorisations, oldest first; the newest advances while it is in progress.
    pub authorisations: Vec<Authorisation>,
    /// Why the bank rejected it (`RJCT`), for its status body.
    pub rejection: Option<&'static str>,
}

/// A signing basket.
#[derive(Debug, Clone)]
pub struct Basket {
    /// Id.
    pub id: String,
    /// Owner.
    pub person: String,
    /// Payment ids in it.
    pub payment_ids: Vec<String>,
    /// Status.
    pub status: TransactionStatus,
    /// Its authorisations, oldest first.
    pub authorisations: Vec<Authorisation>,
}

/// The bank's mutable state.
#[derive(Debug)]
pub struct BankState {
    /// Day the data was generated for.
    pub today: Date,
    /// Accounts by person.
    pub accounts: HashMap<&'static str, Vec<Account>>,
    /// Payments by id.
    pub payments: HashMap<String, Payment>,
    /// Signing baskets by id.
    pub baskets: HashMap<String, Basket>,
    /// `X-Request-ID`s of payment initiations seen (duplicates are rejected).
    pub request_ids: HashSet<String>,
    /// Calls without `PSU-IP-Address`: (person, account, operation, day) → count.
    pub unattended: HashMap<(String, String, &'static str, Date), u32>,
    /// Counter for ids.
    pub next_id: u64,
}

impl BankState {
    fn new() -> Self {
        let today = OffsetDateTime::now_utc().date();
        Self {
            today,
            accounts: TEST_PERSONS.iter().map(|p| (*p, accounts_for(p, today))).collect(),
            payments: HashMap::new(),
            baskets: HashMap::new(),
            request_ids: HashSet::new(),
            unattended: HashMap::new(),
            next_id: 1,
        }
    }

    /// A new opaque id with a prefix.
    pub fn new_id(&mut self, kind: &str) -> String {
        let n = self.next_id;
        self.next_id += 1;
        hex_id(&format!("{kind}/{n}/{}", self.today), 24)
    }

    /// The person's account by resource id.
    pub fn account(&self, person: &str, resource_id: &str) -> Option<&Account> {
        self.accounts.get(person)?.iter().find(|a| a.resource_id == resource_id)
    }

    /// The account `person` may pay from by IBAN or BBAN, to change (a payment booked on it):
    /// see [`BankState::account_by_number`].
    pub fn account_by_number_mut(&mut self, person: &str, number: &str) -> Option<&mut Account> {
        let n: String = number.chars().filter(|c| !c.is_whitespace()).collect();
        let owner = if self.accounts.get(person)?.iter().any(|a| a.iban == n || a.bban == n) {
            person
        } else if is_example_account(&n) {
            TEST_PERSONS[0]
        } else {
            return None;
        };
        self.accounts.get_mut(owner)?.iter_mut().find(|a| a.iban == n || a.bban == n)
    }

    /// The account `person` may pay from (or ask funds of) by IBAN or BBAN: their own, or one
    /// of the accounts SEB's Postman collections use ([`EXAMPLE_ACCOUNTS`], owned by the first
    /// test person), which SEB's sandbox accepts from every test person — the Payment
    /// Initiation collection logs in as `198811215477` and pays from `SE3750000000054400047881`.
    pub fn account_by_number(&self, person: &str, number: &str) -> Option<&Account> {
        let n: String = number.chars().filter(|c| !c.is_whitespace()).collect();
        let own = self.accounts.get(person)?.iter().find(|a| a.iban == n || a.bban == n);
        own.or_else(|| {
            is_example_account(&n).then(|| self.accounts.get(TEST_PERSONS[0])?.iter().find(|a| a.iban == n || a.bban == n)).flatten()
        })
    }

    /// Counts a call without `PSU-IP-Address`; `false` when the daily limit is used up.
    pub fn count_unattended(&mut self, person: &str, account: &str, operation: &'static str) -> bool {
        let day = OffsetDateTime::now_utc().date();
        let n = self.unattended.entry((person.to_owned(), account.to_owned(), operation, day)).or_insert(0);
        if *n >= DAILY_LIMIT {
            return false;
        }
        *n += 1;
        true
    }
}

/// The bank's data and mutable state.
#[derive(Debug)]
pub struct Bank {
    state: Mutex<BankState>,
}

impl Default for Bank {
    fn default() -> Self {
        Self::new()
    }
}

impl Bank {
    /// The deterministic bank of the five test persons.
    pub fn new() -> Self {
        Self { state: Mutex::new(BankState::new()) }
    }

    /// Back to the initial deterministic data (called by `POST /__sandbox/reset` and
    /// `PATCH /payments/mock/resetall`).
    pub fn reset(&self) {
        *self.state() = BankState::new();
    }

    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, BankState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_deterministic_and_big_enough() {
        let a = Bank::new();
        let b = Bank::new();
        let (sa, sb) = (a.state(), b.state());
        for p in TEST_PERSONS {
            let (x, y) = (&sa.accounts[p], &sb.accounts[p]);
            assert_eq!(x.len(), y.len());
            for (ax, ay) in x.iter().zip(y) {
                assert_eq!(ax.resource_id, ay.resource_id);
                assert_eq!(ax.booked_balance, ay.booked_balance);
                assert_eq!(ax.booked.len(), ay.booked.len());
            }
            assert!(x[0].booked.len() >= 450, "{p}: {}", x[0].booked.len());
        }
        assert_eq!(sa.accounts["9311219639"][0].iban, "SE3750000000054400047881");
    }

    #[test]
    fn ibans_have_valid_check_digits() {
        for p in TEST_PERSONS {
            let iban = swedish_iban(p);
            let moved = format!("{}{}", &iban[4..], &iban[..4]);
            let numeric: String =
                moved.chars().map(|c| if c.is_ascii_digit() { c.to_string() } else { (c as u32 - 'A' as u32 + 10).to_string() }).collect();
            let rem = numeric.bytes().fold(0u64, |acc, b| (acc * 10 + u64::from(b - b'0')) % 97);
            assert_eq!(rem, 1, "{iban}");
            assert_eq!(iban.len(), 24);
        }
    }

    #[test]
    fn money_formats() {
        assert_eq!(money(-6300, 1), "-63.0");
        assert_eq!(money(4_005_594, 3), "40055.940");
        assert_eq!(money(5, 2), "0.05");
        // Never rounded: one decimal only when the öre are a multiple of ten.
        assert_eq!(money(-6345, 1), "-63.45");
    }
}
