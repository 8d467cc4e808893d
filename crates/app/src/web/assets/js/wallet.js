import { api, h, toast, when } from "/assets/js/api.js";

// Buying coins: the packages on sale, a picker with a confirmation step, and the payment
// through the provider the server offers. Top up is offered only when a provider is on
// (each package's `providers`; empty when none is, so nothing can be bought). Shared by
// the room page and the Me page.

let packagesPromise = null;

/// The packages that can be bought here (empty when no payment provider is on).
export function buyable() {
  if (!packagesPromise) {
    packagesPromise = api("GET", "/api/v1/wallet/recharge/packages")
      .then((list) => (list || []).filter((p) => p.providers && p.providers.length))
      .catch(() => []);
  }
  return packagesPromise;
}

export function price(p) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: p.currency }).format(p.amount_cents / 100);
  } catch (_) {
    return `${(p.amount_cents / 100).toFixed(2)} ${p.currency}`;
  }
}

/// A "Top up" button, or null when nothing can be bought; `done()` runs after coins
/// are credited.
export async function topUpButton(done) {
  const packages = await buyable();
  if (!packages.length) return null;
  return h("button.btn.ghost.small", { type: "button", id: "topup", onclick: () => picker(packages, done) }, "Top up");
}

/// The picker: choose a package, then confirm; paying is the last step.
function picker(packages, done) {
  const old = document.getElementById("topup-dialog");
  if (old) old.remove();
  const dialog = h("dialog.dialog", { id: "topup-dialog", "aria-labelledby": "topup-title" });
  const close = () => { dialog.close(); dialog.remove(); };
  dialog.addEventListener("cancel", (ev) => { ev.preventDefault(); close(); });
  let chosen = packages[0];

  const choose = () => {
    const list = h("div.packages", { role: "radiogroup", "aria-labelledby": "topup-title" },
      ...packages.map((p) => {
        const input = h("input", { type: "radio", name: "package", value: p.id, checked: p === chosen,
          onchange: () => { chosen = p; } });
        return h("label.package", { dataset: { packageId: p.id } }, input,
          h("span.package-coins", `${p.coins} coins`), h("span.package-price.muted", price(p)));
      }));
    dialog.replaceChildren(h("form.stack", { method: "dialog", onsubmit: (ev) => { ev.preventDefault(); confirm(); } },
      h("h2", { id: "topup-title" }, "Top up coins"),
      list,
      h("div.dialog-actions",
        h("button.btn.ghost", { type: "button", onclick: close }, "Cancel"),
        h("button.btn", { type: "submit", id: "topup-next" }, "Continue")),
    ));
  };

  const confirm = () => {
    const pay = h("button.btn", { type: "button", id: "topup-pay" }, `Pay ${price(chosen)}`);
    pay.addEventListener("click", async () => {
      pay.disabled = true;
      try {
        const credited = await buy(chosen);
        close();
        if (credited) { toast(`Added ${chosen.coins} coins`); if (done) done(); }
      } catch (e) {
        pay.disabled = false;
        toast(e.message, "error");
      }
    });
    dialog.replaceChildren(h("div.stack",
      h("h2", { id: "topup-title" }, "Confirm your purchase"),
      h("p", { id: "topup-summary" }, `${chosen.coins} coins for ${price(chosen)}.`),
      h("div.dialog-actions",
        h("button.btn.ghost", { type: "button", onclick: choose }, "Back"),
        pay),
    ));
    pay.focus();
  };

  choose();
  document.body.append(dialog);
  dialog.showModal();
}

/// Orders `p` and pays: the development provider pays at once from here; a real
/// provider's checkout page is where the buyer goes. True when the coins are credited.
async function buy(p) {
  const provider = p.providers[0];
  const order = await api("POST", "/api/v1/wallet/recharge/orders", { package_id: p.id, provider });
  if (provider === "dev") {
    await api("POST", `/api/v1/payments/dev/checkout/${encodeURIComponent(order.order_no)}`);
    return true;
  }
  if (order.pay_url) location.assign(order.pay_url);
  return false;
}
