/* newsfind: progressive enhancement only. Without this file every feature still works
   (forms submit, links navigate); with it:
   - results update as you type (debounced; a newer keystroke aborts the older request; the
     address bar follows with replaceState, a new search gets its own history entry);
   - filters and sort apply as soon as they change, and focus comes back to the ticked box;
   - typed dates apply only when complete and valid (an impossible range is explained in place);
   - the search box offers suggestions (an ARIA 1.2 combobox with a listbox popup): answers to
     older keystrokes are dropped, a title opens its article;
   - a long facet gets a box to find a value; the article page links back to the results. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var form = document.getElementById("search");
  var input = document.getElementById("q");
  var list = document.getElementById("q-suggestions");
  var FOCUS_KEY = "newsfind:focus";

  function submitForm() {
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  /* -- dates: complete and valid, or explained in place ------------------------------------ */

  function dateInputs() {
    return {
      since: document.querySelector('input[type=date][name=since]'),
      until: document.querySelector('input[type=date][name=until]')
    };
  }

  function dateProblem() {
    var dates = dateInputs();
    var found = null;
    ["since", "until"].forEach(function (name) {
      var field = dates[name];
      if (!field || found) return;
      var label = name === "since" ? "“From”" : "“To”";
      if (field.validity && field.validity.badInput) {
        found = { field: field, message: label + " is not a complete date yet." };
      } else if (field.value && (!/^\d{4}-\d{2}-\d{2}$/.test(field.value) || field.value < "1000")) {
        found = { field: field, message: label + " is not a complete date (year " + field.value.slice(0, 4) + ")." };
      }
    });
    if (!found && dates.since && dates.until && dates.since.value && dates.until.value &&
        dates.since.value > dates.until.value) {
      found = { field: dates.until, message: "“To” ends before “From”: change one of the dates." };
    }
    return found;
  }

  function showDateNote(problem) {
    var note = document.getElementById("date-note");
    var dates = dateInputs();
    [dates.since, dates.until].forEach(function (field) {
      if (!field) return;
      if (problem && problem.field === field) {
        field.setAttribute("aria-invalid", "true");
        field.setAttribute("aria-describedby", "date-note");
      } else {
        field.removeAttribute("aria-invalid");
      }
    });
    if (!note) return;
    note.textContent = problem ? problem.message : "";
    note.hidden = !problem;
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      var problem = dateProblem();
      showDateNote(problem);
      if (problem) {
        event.preventDefault();
        var filters = document.querySelector("details.filters");
        if (filters) filters.open = true;
        problem.field.focus();
      }
    });

    /* Short, shareable URLs: leave out empty fields, the default sort and the default mode. */
    var defaults = { sort: "relevance" };
    var modeChoice = document.getElementById("mode");
    if (modeChoice && modeChoice.dataset.default) defaults.mode = modeChoice.dataset.default;
    function implied(name, value) { return value === "" || defaults[name] === value; }
    form.addEventListener("formdata", function (event) {
      var data = event.formData;
      var names = [];
      data.forEach(function (value, name) {
        if (implied(name, value)) names.push(name);
      });
      names.forEach(function (name) {
        var kept = data.getAll(name).filter(function (value) {
          return !implied(name, value);
        });
        data.delete(name);
        kept.forEach(function (value) { data.append(name, value); });
      });
    });
  }

  /* -- filters and sort apply at once; focus returns to the box that was ticked ------------- */

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!form || !target || target.form !== form || target.id === "q") return;
    if (target.type === "date") {            /* applied with Enter or "Apply dates" */
      showDateNote(target.value || (target.validity && target.validity.badInput) ? dateProblem() : null);
      return;
    }
    if (target.type === "checkbox") {
      try {
        sessionStorage.setItem(FOCUS_KEY, JSON.stringify({ name: target.name, value: target.value }));
      } catch (e) { /* storage refused: focus simply starts at the top */ }
    }
    submitForm();
  });

  function restoreFocus() {
    var saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(FOCUS_KEY) || "null");
      sessionStorage.removeItem(FOCUS_KEY);
    } catch (e) { saved = null; }
    if (!saved) return;
    var boxes = document.querySelectorAll("input[type=checkbox][name='" + saved.name + "']");
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].value === saved.value) {
        var filters = boxes[i].closest("details");
        if (filters) filters.open = true;
        boxes[i].focus();
        return;
      }
    }
  }

  /* -- the parts of the page that live results replace --------------------------------------- */

  function enhanceMain() {
    /* On a phone the filter panel starts folded so results come first. */
    var filters = document.querySelector("details.filters");
    if (filters && window.matchMedia && window.matchMedia("(max-width: 860px)").matches) {
      filters.open = false;
    }
    var boxes = document.querySelectorAll("[data-facet-filter]");
    for (var i = 0; i < boxes.length; i++) boxes[i].hidden = false;
    var thumbs = document.querySelectorAll("img.thumb");
    for (var j = 0; j < thumbs.length; j++) {
      if (thumbs[j].complete && thumbs[j].naturalWidth) thumbs[j].classList.add("loaded");
    }
  }

  enhanceMain();
  restoreFocus();

  /* Thumbnails show once loaded; broken or unreachable ones disappear (no broken image). */
  document.addEventListener("error", function (event) {
    var target = event.target;
    if (target && target.classList && target.classList.contains("thumb")) target.remove();
  }, true);
  document.addEventListener("load", function (event) {
    var target = event.target;
    if (target && target.classList && target.classList.contains("thumb")) target.classList.add("loaded");
  }, true);

  /* -- a search box inside long facets ------------------------------------------------------ */

  function fold(text) {
    return (text || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  var facetTimer = null;
  var facetPending = null;

  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!box || !box.hasAttribute || !box.hasAttribute("data-facet-filter")) return;
    var fieldset = box.closest("fieldset");
    var wanted = fold(box.value.trim());
    var items = fieldset.querySelectorAll("li");
    var shown = 0;
    for (var i = 0; i < items.length; i++) {
      var value = items[i].querySelector(".value");
      var match = !wanted || (value && fold(value.textContent).indexOf(wanted) >= 0);
      items[i].hidden = !match;
      if (match) shown++;
    }
    clearTimeout(facetTimer);
    if (wanted && fieldset.hasAttribute("data-truncated")) {
      facetTimer = setTimeout(function () { moreFacetValues(fieldset, box, wanted); }, 200);
    }
    box.setAttribute("aria-description", shown + " shown");
  });

  /* The facet lists its top values only: ask the API for up to a hundred and add the matches. */
  function moreFacetValues(fieldset, box, wanted) {
    var name = box.getAttribute("data-facet-filter");
    var params = new URLSearchParams(window.location.search);
    params.delete("page");
    params.set("per_page", "1");
    params.set("facet_size", "100");
    if (facetPending) facetPending.abort();
    facetPending = new AbortController();
    fetch("/api/search?" + params.toString(), { signal: facetPending.signal, headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || fold(box.value.trim()) !== wanted) return;
        var ul = fieldset.querySelector("ul");
        var listed = {};
        fieldset.querySelectorAll("input[type=checkbox]").forEach(function (c) { listed[c.value] = true; });
        (data.facets[name] ? data.facets[name].values : []).forEach(function (item, index) {
          if (listed[item.value] || fold(item.value).indexOf(wanted) < 0) return;
          var li = document.createElement("li");
          var label = document.createElement("label");
          label.className = "check";
          var check = document.createElement("input");
          check.type = "checkbox";
          check.name = name;
          check.value = item.value;
          check.setAttribute("form", "search");
          check.id = "f-" + name + "-more-" + index;
          var value = document.createElement("span");
          value.className = "value";
          value.textContent = item.value;
          var count = document.createElement("span");
          count.className = "count";
          count.textContent = item.count.toLocaleString("en");
          label.appendChild(check);
          label.appendChild(value);
          label.appendChild(count);
          li.appendChild(label);
          ul.appendChild(li);
        });
      })
      .catch(function () { /* aborted: a newer search of the box runs */ });
  }

  /* -- back to the results ------------------------------------------------------------------ */

  var back = document.querySelector("a[data-back]");
  if (back && document.referrer) {
    try {
      var from = new URL(document.referrer);
      if (from.origin === window.location.origin && from.pathname === "/") {
        back.href = from.pathname + from.search;
        back.textContent = "← Back to results";
      }
    } catch (e) { /* not a URL: keep the link to the search page */ }
  }

  if (!input || !form || !window.fetch) return;

  /* -- live results as you type ------------------------------------------------------------- */

  var onSearchPage = !!document.getElementById("results") || window.location.pathname === "/";
  var liveTimer = null;
  var livePending = null;
  var liveShown = input.value.trim();
  var typingEntry = false;   /* the current history entry belongs to this typing burst */

  function searchUrl(q) {
    var params = new URLSearchParams(window.location.search);
    ["q", "page", "exact"].forEach(function (name) { params.delete(name); });
    var rest = params.toString();
    var query = q ? "q=" + encodeURIComponent(q).replace(/%20/g, "+") : "";
    var joined = [query, rest].filter(Boolean).join("&");
    return "/" + (joined ? "?" + joined : "");
  }

  function swapMain(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("main");
    var main = document.getElementById("main");
    if (!fresh || !main) return false;
    main.innerHTML = fresh.innerHTML;
    document.title = doc.title;
    var feed = doc.querySelector('link[rel=alternate][type="application/atom+xml"]');
    var old = document.querySelector('link[rel=alternate][type="application/atom+xml"]');
    if (old) old.remove();
    if (feed) document.head.appendChild(feed);
    enhanceMain();
    return true;
  }

  function load(url, q, push) {
    if (livePending) livePending.abort();
    var controller = new AbortController();
    livePending = controller;
    document.documentElement.classList.add("loading");
    return fetch(url, { signal: controller.signal, headers: { Accept: "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (controller !== livePending) return;   /* a newer search has started */
        if (!swapMain(html)) { window.location.href = url; return; }
        liveShown = q;
        var state = { live: true, q: q };
        if (push) history.pushState(state, "", url); else history.replaceState(state, "", url);
      })
      .catch(function () { /* aborted by a newer keystroke, or offline: the form still works */ })
      .then(function () {
        if (controller === livePending) document.documentElement.classList.remove("loading");
      });
  }

  function liveSearch() {
    var q = input.value.trim();
    if (q === liveShown || (q.length === 1)) return;
    load(searchUrl(q), q, !typingEntry);
    typingEntry = true;
  }

  window.addEventListener("popstate", function () {
    if (!onSearchPage) return;
    var q = new URLSearchParams(window.location.search).get("q") || "";
    input.value = q;
    typingEntry = false;
    if (livePending) livePending.abort();
    livePending = null;
    fetch(window.location.href, { headers: { Accept: "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) { if (!swapMain(html)) window.location.reload(); liveShown = q; })
      .catch(function () { window.location.reload(); });
  });

  /* -- suggestions ---------------------------------------------------------------------------- */

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);

  var KIND_LABELS = { provider: "source", topic: "topic", title: "article", term: "word" };
  var items = [];
  var active = -1;
  var timer = null;
  var pending = null;
  var asked = 0;        /* the number of the latest question: older answers are dropped */

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

  /* A title opens its article; a topic or a source becomes a filter; a word a query. */
  function choose(index) {
    var item = items[index];
    close();
    if (item.kind === "title" && item.articleId) {
      window.location.href = "/articles/" + encodeURIComponent(item.articleId);
      return;
    }
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
    submitForm();
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
      return {
        text: suggestion.text, kind: suggestion.kind, articleId: suggestion.article_id || "",
        element: option
      };
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
    var number = ++asked;
    if (pending) pending.abort();
    if (!prefix) { close(); return; }
    pending = new AbortController();
    var url = input.getAttribute("data-suggest") + "?q=" + encodeURIComponent(prefix);
    fetch(url, { signal: pending.signal, headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
      .then(function (data) {
        /* only the answer to the latest question, for the text still in the box */
        if (number === asked && input.value.trim() === prefix && document.activeElement === input) {
          show(data.suggestions || []);
        }
      })
      .catch(function () { /* aborted or offline: the plain search box still works */ });
  }

  input.addEventListener("input", function () {
    /* what is listed answered older text: never let Enter pick it */
    asked++;
    if (pending) pending.abort();
    close();
    clearTimeout(timer);
    timer = setTimeout(ask, 120);
    if (onSearchPage) {
      clearTimeout(liveTimer);
      liveTimer = setTimeout(liveSearch, 350);
    }
  });

  input.addEventListener("keydown", function (event) {
    if (list.hidden) {
      if (event.key === "ArrowDown" && input.value.trim()) { clearTimeout(timer); ask(); event.preventDefault(); }
      if (event.key === "Enter") { clearTimeout(liveTimer); asked++; if (pending) pending.abort(); }
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
      clearTimeout(liveTimer);
      choose(active);
    } else if (event.key === "Enter") {
      clearTimeout(liveTimer);
      close();
    } else if (event.key === "Escape") {
      close();
      event.preventDefault();
    } else if (event.key === "Tab") {
      close();
    }
  });

  form.addEventListener("submit", function () {
    clearTimeout(liveTimer);
    if (livePending) livePending.abort();
  });

  input.addEventListener("blur", function () { setTimeout(close, 100); });
})();
