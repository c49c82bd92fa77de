import { expect, Page } from "@playwright/test";

/** Every journey password contains this marker so scripts/test can grep logs for leaks. */
export const PASSWORD = "journey-secret horse battery";

/** A unique e-mail per run, so journeys never collide on a reused database. */
export function uniqueEmail(name: string): string {
  return `${name.toLowerCase()}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** Waits until the wasm bundle has hydrated the page (forms then submit without reloads). */
export async function hydrated(page: Page): Promise<void> {
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
}

export async function signUp(page: Page, name: string, email: string, path = "/signup"): Promise<void> {
  await page.goto(path);
  await hydrated(page);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Welcome, ${name}`);
}

export async function logIn(page: Page, email: string): Promise<void> {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
}

export async function logOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
}
