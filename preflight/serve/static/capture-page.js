// The full-page capture: one <preflight-capture> on a page of its own. `preflight record` opens it with this
// launch's key (?key=); a capture session's QR code opens it with the session's token in the fragment
// (#token=, never sent to a server). Either is kept for this tab only and taken out of the address bar.
import "./capture.js";

const query = new URLSearchParams(location.search);
const fragment = new URLSearchParams(location.hash.slice(1));
const given = query.get("key") || fragment.get("token");
if (given) sessionStorage.setItem("preflight-token", given);
if (query.has("key") || location.hash) {
  query.delete("key");
  history.replaceState(null, "", `${location.pathname}${query.toString() ? `?${query}` : ""}`);
}
const element = document.createElement("preflight-capture");
element.setAttribute("token", sessionStorage.getItem("preflight-token") || "");
for (const name of ["lang", "rules", "speak_s", "listen_s"]) {
  const value = query.get(name);
  if (value) element.setAttribute(name.replace("_", "-"), value);
}
document.getElementById("page")?.appendChild(element);
