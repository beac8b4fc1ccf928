//! Mobile BankID in the page (pure logic, no JS): BankID's recommended user messages for its
//! hint codes and for a payment's signing, and the QR code of BankID's animated QR data as
//! an SVG.
//!
//! The messages are BankID's "RFA" texts (its relying-party guidelines), in Swedish or
//! English; a hint code BankID adds later gets the generic text of its state.

use qrcodegen_no_heap::{QrCode, QrCodeEcc, Version};
use valv_wire::BankIdStatus::{self, Complete, Failed, Pending};

/// BankID's message for a login `pending` or `failed` with `hint_code` (`swedish`: the
/// page's language is Swedish). `qr`: the person scans a QR code (else BankID starts on
/// this device).
pub fn message(status: BankIdStatus, hint_code: &str, qr: bool, swedish: bool) -> &'static str {
    let (sv, en) = match (status, hint_code) {
        (Pending, "outstandingTransaction" | "noClient") if qr => (
            "Starta BankID-appen i din mobil eller surfplatta och tryck på QR-symbolen. Skanna sedan QR-koden.",
            "Start the BankID app on your phone or tablet and tap the QR code button. Then scan this QR code.",
        ),
        (Pending, "outstandingTransaction" | "noClient") => ("Försöker starta BankID-appen.", "Trying to start your BankID app."),
        (Pending, "started") => ("Söker efter BankID, det kan ta en liten stund…", "Searching for BankID, it may take a little while…"),
        (Pending, "userSign" | "userMrtd" | "userCallConfirm") => (
            "Skriv in din säkerhetskod i BankID-appen och välj Identifiera eller Skriv under.",
            "Enter your security code in the BankID app and select Identify or Sign.",
        ),
        (Pending, _) => ("Identifiering eller underskrift pågår.", "Identification or signing in progress."),
        (Failed, "userCancel") => ("Åtgärden avbruten.", "Action cancelled."),
        (Failed, "cancelled") => ("Åtgärden avbruten. Försök igen.", "Action cancelled. Please try again."),
        (Failed, "expiredTransaction" | "sebTimeout") => (
            "BankID-appen svarar inte. Kontrollera att den är startad och att du har internetanslutning. Om du inte har något giltigt BankID kan du skaffa ett hos din bank. Försök sedan igen.",
            "The BankID app is not responding. Please check that it is started and that you have internet access. If you don't have a valid BankID you can get one from your bank. Try again.",
        ),
        (Failed, "certificateErr") => (
            "Det BankID du försöker använda är för gammalt eller spärrat. Använd ett annat BankID eller skaffa ett nytt hos din bank.",
            "The BankID you are trying to use is blocked or too old. Please use another BankID or get a new one from your bank.",
        ),
        (Failed, "startFailed") => (
            "BankID-appen verkar inte finnas i din dator eller mobil. Installera den och skaffa ett BankID hos din bank. Installera appen från din appbutik eller https://install.bankid.com.",
            "The BankID app couldn't be found on your computer or mobile device. Please install it and get a BankID from your bank. Install the app from your app store or https://install.bankid.com.",
        ),
        (Complete, _) => ("Du är inloggad.", "You are signed in."),
        _ => ("Okänt fel. Försök igen.", "Unknown error. Please try again."),
    };
    if swedish {
        sv
    } else {
        en
    }
}

/// Where a payment's BankID signing stands, from the authorisation's `scaStatus`:
/// `complete` (`finalised`, `exempted`), `failed`, else `pending`.
pub fn sign_status(sca_status: &str) -> BankIdStatus {
    match sca_status {
        "finalised" | "finalized" | "exempted" => Complete,
        "failed" => Failed,
        _ => Pending,
    }
}

/// BankID's message for a payment's signing in `status` ([`sign_status`]); `qr`: the bank
/// gave a QR code, `same_device`: it gave an autostart token.
pub fn sign_message(status: BankIdStatus, qr: bool, same_device: bool, swedish: bool) -> &'static str {
    let (sv, en) = match status {
        Pending if qr || same_device => return message(Pending, "outstandingTransaction", qr, swedish),
        Pending => ("Starta BankID-appen och skriv under betalningen.", "Start your BankID app and sign the payment."),
        Complete => ("Betalningen är underskriven.", "The payment is signed."),
        Failed => {
            ("Underskriften avbröts eller tog för lång tid. Försök igen.", "The signing was cancelled or took too long. Please try again.")
        }
    };
    if swedish {
        sv
    } else {
        en
    }
}

/// Modules of white around the code (the quiet zone the QR standard asks for).
const QUIET: i32 = 4;

/// The QR code of `data` as an SVG document (one path of dark modules on white, scaled by
/// its `viewBox`), or `None` when `data` does not fit a QR code.
pub fn qr_svg(data: &str) -> Option<String> {
    // Byte mode: what a general encoder picks for BankID's data (lower-case letters rule
    // out the numeric and alphanumeric modes). The mask is chosen by the standard's penalty
    // rules.
    let mut temp = [0u8; Version::MAX.buffer_len()];
    let mut out = [0u8; Version::MAX.buffer_len()];
    let bytes = data.as_bytes();
    temp.get_mut(..bytes.len())?.copy_from_slice(bytes);
    let code = QrCode::encode_binary(&mut temp, bytes.len(), &mut out, QrCodeEcc::Low, Version::MIN, Version::MAX, None, true).ok()?;
    let size = code.size();
    let side = size + 2 * QUIET;
    let mut svg = String::with_capacity((size * size * 3) as usize + 320);
    svg.push_str("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ");
    push_number(&mut svg, side);
    svg.push(' ');
    push_number(&mut svg, side);
    svg.push_str("\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code for Mobile BankID\"><path fill=\"#fff\" d=\"M0 0h");
    push_number(&mut svg, side);
    svg.push('v');
    push_number(&mut svg, side);
    svg.push_str("H0z\"/><path fill=\"#000\" d=\"");
    for y in 0..size {
        let mut x = 0;
        while x < size {
            if !code.get_module(x, y) {
                x += 1;
                continue;
            }
            // A run of dark modules on this row is one rectangle: `M{x} {y}h{run}v1h-{run}z`.
            let start = x;
            while x < size && code.get_module(x, y) {
                x += 1;
            }
            for (prefix, n) in [("M", start + QUIET), (" ", y + QUIET), ("h", x - start), ("v1h-", x - start)] {
                svg.push_str(prefix);
                push_number(&mut svg, n);
            }
            svg.push('z');
        }
    }
    svg.push_str("\"/></svg>");
    Some(svg)
}

/// Appends `n` (not negative) in decimal, without the formatting machinery (which would be
/// in the wasm for this alone).
fn push_number(out: &mut String, n: i32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    let mut n = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_bankids_texts_and_cover_unknown_codes() {
        assert_eq!(message(Pending, "userSign", true, false), "Enter your security code in the BankID app and select Identify or Sign.");
        assert_eq!(message(Failed, "userCancel", false, true), "Åtgärden avbruten.");
        assert!(message(Pending, "outstandingTransaction", true, false).contains("scan this QR code"));
        assert_eq!(message(Pending, "outstandingTransaction", false, false), "Trying to start your BankID app.");
        assert_eq!(message(Pending, "aCodeFrom2030", true, false), "Identification or signing in progress.");
        assert_eq!(message(Failed, "aCodeFrom2030", true, true), "Okänt fel. Försök igen.");
        assert!(message(Failed, "startFailed", false, false).contains("install.bankid.com"));
    }

    #[test]
    fn signing_states_and_messages() {
        for (sca, status) in [
            ("finalised", Complete),
            ("finalized", Complete),
            ("exempted", Complete),
            ("failed", Failed),
            ("started", Pending),
            ("x", Pending),
        ] {
            assert_eq!(sign_status(sca), status, "{sca}");
        }
        assert!(sign_message(Pending, true, true, false).contains("scan this QR code"));
        assert_eq!(sign_message(Pending, false, true, false), "Trying to start your BankID app.");
        assert_eq!(sign_message(Pending, false, false, true), "Starta BankID-appen och skriv under betalningen.");
        assert_eq!(sign_message(Complete, false, false, false), "The payment is signed.");
        assert!(sign_message(Failed, true, false, false).contains("cancelled"));
    }

    /// Reads the SVG back into a module grid.
    fn modules(svg: &str) -> (i32, Vec<Vec<bool>>) {
        let side: i32 = svg.split("viewBox=\"0 0 ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        let mut grid = vec![vec![false; side as usize]; side as usize];
        let d = svg.split("fill=\"#000\" d=\"").nth(1).unwrap().split('"').next().unwrap();
        for rect in d.split('z').filter(|r| !r.is_empty()) {
            let nums: Vec<i32> =
                rect.trim_start_matches('M').split([' ', 'h', 'v']).filter(|s| !s.is_empty()).take(3).map(|s| s.parse().unwrap()).collect();
            for x in nums[0]..nums[0] + nums[2] {
                grid[nums[1] as usize][x as usize] = true;
            }
        }
        (side, grid)
    }

    #[test]
    fn the_svg_draws_exactly_the_codes_modules_with_a_quiet_zone() {
        let data = "bankid.67df3917-fa0d-44e5-b327-edcc928297f8.0.dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8";
        let svg = qr_svg(data).unwrap();
        // The same code as the heap-allocating qrcodegen's text mode (its mode analysis).
        let code = qrcodegen::QrCode::encode_text(data, qrcodegen::QrCodeEcc::Low).unwrap();
        let (side, grid) = modules(&svg);
        assert_eq!(side, code.size() + 8);
        for y in 0..side {
            for x in 0..side {
                let inner = (QUIET..side - QUIET).contains(&x) && (QUIET..side - QUIET).contains(&y);
                let dark = inner && code.get_module(x - QUIET, y - QUIET);
                assert_eq!(grid[y as usize][x as usize], dark, "module {x},{y}");
            }
        }
        // The finder pattern's top-left corner is dark, just inside the quiet zone.
        assert!(grid[QUIET as usize][QUIET as usize]);
        assert_ne!(qr_svg("bankid.a.1.b").unwrap(), qr_svg("bankid.a.2.b").unwrap());
        assert!(qr_svg(&"x".repeat(5000)).is_none(), "too long for any QR code");
    }
}
