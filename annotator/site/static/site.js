// Sorting of tables and filtering of the paper list, on the page in hand. No dependencies.
(function () {
  "use strict";

  function cellValue(row, index, numeric) {
    var cell = row.children[index];
    if (!cell) { return numeric ? -Infinity : ""; }
    var raw = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim();
    if (!numeric) { return raw.toLowerCase(); }
    var n = parseFloat(raw.replace(/,/g, ""));
    return isNaN(n) ? -Infinity : n;
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, index) {
      th.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var down = th.getAttribute("aria-sort") !== "descending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
          var order = x < y ? -1 : (x > y ? 1 : 0);
          return down ? -order : order;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });

  var form = document.querySelector("form[data-filter=papers]");
  var list = document.querySelector("[data-list]");
  if (!form || !list) { return; }
  var items = Array.prototype.slice.call(list.children);

  function num(value, fallback) {
    var n = parseFloat(value);
    return isNaN(n) ? fallback : n;
  }

  function score(item, key) {
    var v = item.getAttribute("data-" + key);
    return v === "" ? null : parseFloat(v);
  }

  function apply() {
    var code = form.elements.code.checked;
    var aiMin = num(form.elements.ai_min.value, 0), aiMax = num(form.elements.ai_max.value, 100);
    var novMin = num(form.elements.nov_min.value, 0), novMax = num(form.elements.nov_max.value, 100);
    var ranged = form.elements.ai_min.value || form.elements.ai_max.value ||
      form.elements.nov_min.value || form.elements.nov_max.value;
    var shown = 0;
    items.forEach(function (item) {
      var ai = score(item, "ai"), nov = score(item, "nov");
      var ok = !(code && item.getAttribute("data-code") !== "1");
      if (ok && ranged) {
        ok = ai !== null && nov !== null && ai >= aiMin && ai <= aiMax && nov >= novMin && nov <= novMax;
      }
      item.hidden = !ok;
      if (ok) { shown += 1; }
    });
    var key = form.elements.sort.value;
    var sorted = items.slice().sort(function (a, b) {
      if (key === "date") {
        var da = a.getAttribute("data-date"), db = b.getAttribute("data-date");
        if (da !== db) { return da < db ? 1 : -1; }
        return parseInt(b.getAttribute("data-id"), 10) - parseInt(a.getAttribute("data-id"), 10);
      }
      var x = score(a, key), y = score(b, key);
      return (y === null ? -1 : y) - (x === null ? -1 : x);
    });
    sorted.forEach(function (item) { list.appendChild(item); });
    form.querySelector("[data-count]").textContent = shown + " of " + items.length + " shown";
  }

  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
})();
