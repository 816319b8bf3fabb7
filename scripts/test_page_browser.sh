#!/usr/bin/env bash
# Runs Tests/Browser: the page Warden serves at GET /, driven in Debian's headless chromium (chromium and
# chromium-driver, installed by scripts/setup.sh) through Selenium (pinned below) against the built `warden`.
# Selenium and pytest go into .venv-browser (git-ignored), made with Debian's Python; PyPI must be reachable
# the first time. Selenium is given Debian's chromedriver, so it downloads no browser or driver.
#
#   scripts/test_page_browser.sh            after `swift build` (uses .build/debug/warden)
#   WARDEN_PAGE_SCREENSHOT=docs/images/page.png scripts/test_page_browser.sh    also saves a screenshot
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pytest_suite.sh
export SE_AVOID_STATS=true SE_OFFLINE=true
run_pytest_suite page-browser .venv-browser selenium 4.50.0 selenium Tests/Browser
