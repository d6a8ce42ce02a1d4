// QA scoring sheet: "Submit" asks for confirmation and names the items not scored yet;
// while a supervisor resolves a dispute, editing an item selects "change the score".
(function () {
  "use strict";
  var sheet = document.getElementById("sheet");
  if (!sheet) { return; }

  function rows() { return Array.prototype.slice.call(sheet.querySelectorAll("tr[data-item]")); }

  function unscored() {
    return rows().filter(function (row) {
      var select = row.querySelector("select");
      return select && select.value === "";
    }).map(function (row) { return row.dataset.label; });
  }

  var dialog = document.getElementById("confirm-submit");
  var submit = document.getElementById("submit-review");
  if (dialog && submit && typeof dialog.showModal === "function") {
    var box = dialog.querySelector("[data-unscored]");
    var list = dialog.querySelector("[data-unscored-list]");
    var confirm = document.getElementById("confirm-submit-button");
    submit.addEventListener("click", function (ev) {
      ev.preventDefault();
      var missing = unscored();
      list.textContent = "";
      missing.forEach(function (label) {
        var li = document.createElement("li");
        li.textContent = label;
        list.appendChild(li);
      });
      box.hidden = missing.length === 0;
      confirm.disabled = missing.length > 0;
      dialog.showModal();
    });
    dialog.querySelector("[data-close]").addEventListener("click", function () { dialog.close(); });
  }

  var changed = sheet.querySelector("input[name=decision][value=changed]");
  var note = document.getElementById("decision-note");
  if (changed) {
    var initial = {};
    var fields = sheet.querySelectorAll("tr[data-item] select, tr[data-item] input");
    fields.forEach(function (field) { initial[field.name] = field.value; });
    var onEdit = function () {
      var edited = Array.prototype.some.call(fields, function (f) { return f.value !== initial[f.name]; });
      if (edited) { changed.checked = true; }
      if (note) { note.hidden = !edited; }
    };
    fields.forEach(function (field) {
      field.addEventListener("change", onEdit);
      field.addEventListener("input", onEdit);
    });
  }
}());
