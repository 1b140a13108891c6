/**
 * The browser of the web UI tests: Debian's own chromium (never a downloaded build), headless,
 * driven by playwright-core. playwright starts it with a fresh temporary profile directory of its
 * own and deletes it on close; each account gets its own context (cookies, localStorage).
 * Screenshots go to tmp/web-screenshots/ (ignored by git; t.testdir() would be wiped).
 */
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import type { Test } from 'tap'

export const CHROMIUM = process.env.XUEJI_CHROMIUM ?? '/usr/bin/chromium'
export const SCREENSHOTS = resolve('tmp', 'web-screenshots')

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

export interface Browser {
  /** A new context (own cookies and localStorage) at the 1366×768 of school offices. */
  context(): Promise<BrowserContext>
  shot(page: Page, name: string): Promise<void>
}

export async function startBrowser(t: Test): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true })
  t.teardown(() => browser.close())
  mkdirSync(SCREENSHOTS, { recursive: true })
  return {
    context: () => browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' }),
    async shot(page, name) {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
    },
  }
}

/** Signs in through the login page; `totp` answers the second factor when the account has one. */
export async function uiLogin(page: Page, url: string, username: string, password: string, totp?: (secret: string | null) => string): Promise<void> {
  await page.goto(url)
  await page.fill('#login-username', username)
  await page.fill('#login-password', password)
  await page.click('button[type=submit]')
  if (totp) {
    await page.waitForSelector('#login-totp')
    const secret = (await page.locator('#totp-secret').count()) > 0 ? ((await page.locator('#totp-secret').textContent()) ?? '').trim() : null
    await page.fill('#login-totp', totp(secret))
    await page.click('button[type=submit]')
  }
  await page.waitForSelector('.ant-menu')
}

/**
 * Chooses an option of an antd Select by typing part of its label, and waits until the select
 * shows it, as the registrar would see it before going on (on a loaded machine a click made while
 * the dropdown was still opening was once lost, and the form went without the value).
 */
export async function choose(page: Page, selector: string, text: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.click(selector)
    await page.fill(selector, text)
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: text }).first().click()
    const shown = await page
      .waitForFunction(([sel, want]) => ((document.querySelector(sel)?.closest('.ant-select') as HTMLElement | null)?.innerText ?? '').includes(want), [selector, text] as const, { timeout: 5000 })
      .then(() => true, () => false)
    if (shown) return
    if (attempt === 2) throw new Error(`${selector}: "${text}" was clicked twice and is still not chosen`)
  }
}
