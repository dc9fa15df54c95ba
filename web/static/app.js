/* newsfind: progressive enhancement only. Without this file every feature still works
   (forms submit, links navigate); with it, filters apply on change and the search box
   offers suggestions (an ARIA 1.2 combobox with a listbox popup). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var form = document.getElementById("search");

  /* Filters and sort apply as soon as they change. */
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!form || !target || target.form !== form || target.id === "q") return;
    if (target.type === "date" && target.value && !/^\d{4}-\d{2}-\d{2}$/.test(target.value)) return;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  });

  /* Short, shareable URLs: leave out empty fields and the default sort. */
  if (form) {
    form.addEventListener("formdata", function (event) {
      var data = event.formData;
      var names = [];
      data.forEach(function (value, name) {
        if (value === "" || (name === "sort" && value === "relevance")) names.push(name);
      });
      names.forEach(function (name) {
        var kept = data.getAll(name).filter(function (value) {
          return value !== "" && !(name === "sort" && value === "relevance");
        });
        data.delete(name);
        kept.forEach(function (value) { data.append(name, value); });
      });
    });
  }

  /* On a phone the filter panel starts folded so results come first. */
  var filters = document.querySelector("details.filters");
  if (filters && window.matchMedia && window.matchMedia("(max-width: 860px)").matches) {
    filters.open = false;
  }

  var input = document.getElementById("q");
  var list = document.getElementById("q-suggestions");
  if (!input || !list || !window.fetch) return;

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);

  var KIND_LABELS = { provider: "source", topic: "topic", title: "title", term: "word" };
  var items = [];
  var active = -1;
  var timer = null;
  var pending = null;
  var lastAsked = null;

  function close() {
    list.hidden = true;
    list.textContent = "";
    items = [];
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    active = index;
    items.forEach(function (item, i) {
      item.element.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", items[index].element.id);
      items[index].element.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  /* A topic or a source becomes a filter (what the reader meant); a title or a word a query. */
  function choose(index) {
    var item = items[index];
    if (item.kind === "topic" || item.kind === "provider") {
      var filter = document.createElement("input");
      filter.type = "hidden";
      filter.name = item.kind;
      filter.value = item.text;
      form.appendChild(filter);
      input.value = "";
    } else {
      input.value = item.text;
    }
    close();
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  function show(suggestions) {
    list.textContent = "";
    items = suggestions.map(function (suggestion, index) {
      var option = document.createElement("li");
      option.id = "q-suggestion-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      var text = document.createElement("span");
      text.className = "text";
      text.textContent = suggestion.text;            /* text, never HTML */
      var kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = KIND_LABELS[suggestion.kind] || suggestion.kind;
      option.appendChild(text);
      option.appendChild(kind);
      option.addEventListener("mousedown", function (event) {
        event.preventDefault();                     /* keep focus in the box */
        choose(index);
      });
      list.appendChild(option);
      return { text: suggestion.text, kind: suggestion.kind, element: option };
    });
    active = -1;
    if (items.length) {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    } else {
      close();
    }
  }

  function ask() {
    var prefix = input.value.trim();
    if (prefix === lastAsked) return;
    lastAsked = prefix;
    if (!prefix) { close(); return; }
    if (pending) pending.abort();
    pending = new AbortController();
    var url = input.getAttribute("data-suggest") + "?q=" + encodeURIComponent(prefix);
    fetch(url, { signal: pending.signal, headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
      .then(function (data) {
        if (input.value.trim() === prefix && document.activeElement === input) show(data.suggestions || []);
      })
      .catch(function () { /* aborted or offline: the plain search box still works */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 120);
  });

  input.addEventListener("keydown", function (event) {
    if (list.hidden) {
      if (event.key === "ArrowDown" && input.value.trim()) { lastAsked = null; ask(); event.preventDefault(); }
      return;
    }
    if (event.key === "ArrowDown") {
      highlight(active + 1 < items.length ? active + 1 : 0);
      event.preventDefault();
    } else if (event.key === "ArrowUp") {
      highlight(active > 0 ? active - 1 : items.length - 1);
      event.preventDefault();
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      choose(active);
    } else if (event.key === "Escape") {
      close();
      event.preventDefault();
    } else if (event.key === "Tab") {
      close();
    }
  });

  input.addEventListener("blur", function () { setTimeout(close, 100); });
  input.addEventListener("focus", function () { lastAsked = null; });
})();
