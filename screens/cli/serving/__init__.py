"""What ``cloudtrail-wizard serve`` is built from (the command itself is
:mod:`screens.cli.commands.serve`).

* :mod:`~screens.cli.serving.hosts`: which hosts are this machine only, and which requests
  and websockets are refused;
* :mod:`~screens.cli.serving.listen`: the listening sockets, bound before the web server
  starts;
* :mod:`~screens.cli.serving.limits`: how many wizard sessions at once, and where saves go;
* :mod:`~screens.cli.serving.environment`: the scrubbed environment of each wizard process;
* :mod:`~screens.cli.serving.server`: textual-serve's web server, adapted (the only module
  that imports textual-serve and aiohttp, imported only when ``serve`` runs);
* :mod:`~screens.cli.serving.session`: one browser connection's wizard process;
* :mod:`~screens.cli.serving.trainees`: with ``--sandbox``, each browser's own sandbox, found
  again after a reload;
* with ``--class``: :mod:`~screens.cli.serving.classroom` (the class's state, kept across
  restarts; names; exports), :mod:`~screens.cli.serving.classroom_web` (the name form and the
  trainer's dashboard over HTTP), :mod:`~screens.cli.serving.classroom_pages` (their HTML),
  :mod:`~screens.cli.serving.classroom_labs` (the labs a trainer sets, each trainee's
  progress) and :mod:`~screens.cli.serving.classroom_health` (the controls of each trainee's
  applied trail).
"""
