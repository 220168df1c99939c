// Credits bought through Stripe, newest first, and the shortfalls: purchases refunded or disputed
// after the credits were spent, so the balance could not give all of them back.
import { $, h } from "../dom.js";
import { short, syncList } from "./lists.js";

const money = (amount, currency) => `${(amount / 100).toFixed(2)} ${String(currency).toUpperCase()}`;

function row(purchase) {
  const owed = purchase.shortfall ? `, ${purchase.shortfall} not recovered` : "";
  return h("li", { title: `Checkout session ${purchase.session_id}` },
    h("code", {}, short(purchase.session_id.replace(/^cs_(test_|live_)?/, ""))),
    ` user ${purchase.user_id}: ${purchase.credits} credits for ${money(purchase.amount, purchase.currency)}, `,
    h("strong", {}, purchase.status), owed);
}

export function renderPurchases(purchases, shortfalls) {
  $("#purchases-empty").hidden = purchases.length > 0;
  syncList($("#purchases"), purchases, (p) => `${p.session_id}:${p.status}:${p.shortfall}`, row);
  $("#shortfalls-empty").hidden = shortfalls.length > 0;
  syncList($("#shortfalls"), shortfalls, (p) => `${p.session_id}:${p.shortfall}`, row);
}
