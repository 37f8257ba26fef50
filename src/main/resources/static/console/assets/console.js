// Live updates without a build step: an element with data-refresh="URL" is replaced by a fresh copy of itself,
// fetched from URL, every 1.5 s while its data-active is "true" (jobs queued or running), every 10 s when it is
// idle and asks for that (data-idle-refresh), and not at all otherwise. Without JavaScript the pages work the same,
// they just do not move until reloaded. Elements marked data-while-active go once a refreshed element is idle.
(function () {
    'use strict';
    var ACTIVE = 1500;
    var IDLE = 10000;

    function delayOf(element) {
        if (element.dataset.active === 'true') {
            return ACTIVE;
        }
        return element.dataset.idleRefresh === 'true' ? IDLE : 0;
    }

    function schedule(element) {
        var delay = delayOf(element);
        if (delay > 0) {
            window.setTimeout(function () { refresh(element); }, delay);
        }
    }

    function stopped(message) {
        var status = document.getElementById('live-status');
        if (status) {
            status.textContent = message;
        }
    }

    function refresh(element) {
        if (!document.body.contains(element)) {
            return;
        }
        var focused = document.activeElement;
        // Replacing the element under the keyboard focus would throw the focus back to the top of the page.
        if (document.hidden || (focused && focused !== document.body && element.contains(focused))) {
            window.setTimeout(function () { refresh(element); }, ACTIVE);
            return;
        }
        fetch(element.dataset.refresh, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
            .then(function (response) {
                // A sign-in page (the session ended) or an error page is not the fragment: stop, say why.
                if (!response.ok || !response.headers.get('X-Console-Fragment')) {
                    throw new Error('status ' + response.status);
                }
                return response.text();
            })
            .then(function (html) {
                var template = document.createElement('template');
                template.innerHTML = html.trim();
                var fresh = template.content.firstElementChild;
                element.replaceWith(fresh);
                if (fresh.dataset.active !== 'true') {
                    // The job is over: what only makes sense while it runs (cancelling) goes.
                    document.querySelectorAll('[data-while-active]').forEach(function (e) { e.remove(); });
                }
                schedule(fresh);
            })
            .catch(function () {
                stopped('Live updates stopped. Reload the page (you may have to sign in again).');
            });
    }

    document.querySelectorAll('[data-refresh]').forEach(schedule);

    // The new key is selected for copying as soon as it is shown.
    var key = document.getElementById('new-key-value');
    if (key) {
        key.addEventListener('focus', function () { key.select(); });
    }
})();
