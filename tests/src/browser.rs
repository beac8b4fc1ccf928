//! Headless Chromium driven through ChromeDriver (WebDriver, with `fantoccini`).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::process::{free_port, tool, Process};

/// A browser session; [`Browser::close`] ends it (dropping kills ChromeDriver and Chromium).
#[derive(Debug)]
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    _driver: Process,
    _profile: tempfile::TempDir,
}

/// The ChromeDriver binary (`VALV_CHROMEDRIVER` or `chromedriver` on `PATH`).
pub fn chromedriver() -> Result<PathBuf> {
    tool("VALV_CHROMEDRIVER", &["chromedriver"], "install ChromeDriver (`apt-get install chromium-driver`) or set VALV_CHROMEDRIVER")
}

/// The Chromium binary (`VALV_CHROMIUM` or `chromium` / `chromium-browser` / `google-chrome` on `PATH`).
pub fn chromium() -> Result<PathBuf> {
    tool(
        "VALV_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
        "install Chromium (`apt-get install chromium`) or set VALV_CHROMIUM",
    )
}

impl Browser {
    /// Starts ChromeDriver on a free port and opens a headless Chromium session with a fresh
    /// profile.
    pub async fn start() -> Result<Browser> {
        let driver_bin = chromedriver()?;
        let chromium = chromium()?;
        let port = free_port()?;
        let mut cmd = Command::new(driver_bin);
        cmd.arg(format!("--port={port}")).arg("--allowed-ips=127.0.0.1");
        let driver = crate::process::start("chromedriver", cmd, "started successfully")?;
        let profile = tempfile::Builder::new().prefix("valv-e2e-chromium-").tempdir()?;
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--no-first-run",
                    "--no-default-browser-check",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        // ChromeDriver is plain http on loopback: no TLS stack needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .map_err(|e| anyhow!("opening a Chromium session through ChromeDriver: {e}; log {}", driver.log_path().display()))?;
        Ok(Browser { client, _driver: driver, _profile: profile })
    }

    /// Ends the WebDriver session (closes Chromium).
    pub async fn close(self) -> Result<()> {
        self.client.clone().close().await.map_err(|e| anyhow!("closing the browser: {e}"))
    }

    /// Navigates to `url`.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client.goto(url).await.map_err(|e| anyhow!("navigating to {url}: {e}"))
    }

    /// The current URL.
    pub async fn url(&self) -> Result<url::Url> {
        self.client.current_url().await.map_err(|e| anyhow!("reading the URL: {e}"))
    }

    /// Waits (up to `timeout`) until `pred(current URL)` holds; returns that URL.
    pub async fn wait_for_url(&self, timeout: Duration, pred: impl Fn(&url::Url) -> bool) -> Result<url::Url> {
        let deadline = Instant::now() + timeout;
        loop {
            let url = self.url().await?;
            if pred(&url) {
                return Ok(url);
            }
            if Instant::now() >= deadline {
                bail!("still on {url} after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Finds an element by CSS selector, waiting up to 10 s.
    pub async fn find(&self, css: &str) -> Result<fantoccini::elements::Element> {
        self.client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(css)).await.map_err(|e| anyhow!("finding {css}: {e}"))
    }

    /// Runs a synchronous script; its return value.
    pub async fn js(&self, script: &str) -> Result<Value> {
        self.client.execute(script, Vec::new()).await.map_err(|e| anyhow!("running script: {e}"))
    }

    /// Runs a script that ends by calling `done(value)` (the last argument).
    pub async fn js_async(&self, script: &str) -> Result<Value> {
        let wrapped = format!("const done = arguments[arguments.length - 1];\n{script}");
        self.client.execute_async(&wrapped, Vec::new()).await.map_err(|e| anyhow!("running async script: {e}"))
    }

    /// `fetch(path, init)` from the page; `{status, body}`.
    pub async fn fetch(&self, path: &str, init: Value) -> Result<Value> {
        let script = format!(
            "fetch({path}, {init}).then(async r => done({{status: r.status, body: await r.text()}}), e => done({{status: -1, body: String(e)}}));",
            path = serde_json::to_string(path)?,
            init = init,
        );
        self.js_async(&script).await
    }

    /// Every cookie the browser holds for the current page's URL.
    pub async fn cookies(&self) -> Result<Vec<fantoccini::cookies::Cookie<'static>>> {
        self.client.get_all_cookies().await.map_err(|e| anyhow!("reading cookies: {e}"))
    }
}
