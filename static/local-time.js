// Adds the browser's local time beside each UTC time of the audit trail. Optional: without
// it the page shows UTC, which is what the trail stores.
document.querySelectorAll("time[data-local]").forEach(function (time) {
  var when = new Date(time.getAttribute("datetime"));
  if (isNaN(when.getTime())) { return; }
  var local = document.createElement("span");
  local.className = "local-time";
  local.textContent = "(" + when.toLocaleString(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
  }) + ")";
  time.insertAdjacentElement("afterend", local);
  time.insertAdjacentElement("afterend", document.createElement("br"));
});
