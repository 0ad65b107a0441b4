"""The conformance kit: cases any axis endpoint (docflow's or a partner's) must pass, run over HTTP.

``docflow.conformance.cases.run_cases`` runs them; ``docflow conformance URL …`` prints the table and writes
JUnit or JSON reports (``docflow.conformance.report``).
"""
