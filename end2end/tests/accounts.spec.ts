import { expect, test } from "@playwright/test";
import { hydrated, logIn, logOut, PASSWORD, signUp, uniqueEmail } from "./helpers";

test("a newcomer signs up, sees the dashboard, logs out and logs back in", async ({ page }) => {
  // Chrome logs every 4xx answer as a console error; the refused log-in below is meant to get
  // one (422). Anything else, and any script error, fails the journey.
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().includes("status of 422")) errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));

  const email = uniqueEmail("ana");
  await signUp(page, "Ana", email);
  await expect(page.getByText("Sandbox mode")).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link")).toHaveText([
    "Dashboard", "Calendar", "New post", "Posts", "Drafts", "Accounts", "Analytics", "Team", "Settings",
  ]);
  await expect(page.locator("strong.role")).toHaveText("Owner");

  await logOut(page);
  await page.goto("/team");
  await expect(page).toHaveURL(/\/login\?next=\/team$/);

  await hydrated(page);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill("a wrong password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.locator("#field-password-error")).toHaveText("The e-mail or password is wrong.");
  await expect(page.getByLabel("Password")).toHaveAttribute("aria-invalid", "true");

  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/team$/);
  await expect(page.getByRole("heading", { name: "Members" })).toBeVisible();

  expect(errors, "no console errors").toEqual([]);
});

test("sign-up shows what is wrong next to the field and keeps what was typed", async ({ page }) => {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Your name").fill("Bo");
  await page.getByLabel("E-mail").fill("bo-at-example");
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#field-email-error")).toHaveText("Enter an e-mail address like name@example.com.");
  await expect(page.getByLabel("Your name")).toHaveValue("Bo");

  await page.getByLabel("E-mail").fill(uniqueEmail("bo"));
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#field-password-error")).toHaveText("Use at least 10 characters.");
});

test("unknown addresses get a 404 page", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});

test("the time zone is taken from the browser at sign-up", async ({ browser }) => {
  const context = await browser.newContext({ timezoneId: "Asia/Tokyo" });
  const page = await context.newPage();
  await signUp(page, "Kei", uniqueEmail("kei"));
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByLabel("Time zone")).toHaveValue("Asia/Tokyo");
  await context.close();
});

test("logging in from the login page lands on the dashboard", async ({ page }) => {
  const email = uniqueEmail("cy");
  await signUp(page, "Cy", email);
  await logOut(page);
  await logIn(page, email);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Welcome, Cy");
});
