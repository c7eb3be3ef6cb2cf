-- What PostGraphile needs beyond Contato's tables to give the same answers (bench/side_by_side.py).
-- Contato's tables are untouched; these live in a schema of their own. Each function applies the rules
-- Contato's resolvers apply for an agent (resolvers/campaign/queue.py, resolvers/ticket/access.py):
-- the caller is the token's user, still active and with the token's version; the queue is that of an
-- open campaign the agent is assigned to (staff: any), in queue order; tickets are the agent's and the
-- unassigned ones (a company rep: the company's; staff: all), by id. Plain SQL functions, STABLE, so
-- PostgreSQL inlines them into PostGraphile's query and the connection's LIMIT reaches the index.
CREATE SCHEMA IF NOT EXISTS bench_pg;

CREATE OR REPLACE FUNCTION bench_pg.campaign_queue(campaign_id integer) RETURNS SETOF campaign_member
LANGUAGE sql STABLE AS $$
  SELECT m.*
  FROM campaign_member m
  JOIN person p ON p.id = m.person_id
  JOIN campaign c ON c.id = m.campaign_id
  JOIN app_user v ON v.id = nullif(current_setting('jwt.claims.sub', true), '')::integer
  WHERE m.campaign_id = campaign_queue.campaign_id
    AND v.active AND v.token_version = nullif(current_setting('jwt.claims.ver', true), '')::integer
    AND (
      v.role IN ('SUPERVISOR', 'ADMIN')
      OR (
        c.active
        -- Contato's default CONTATO_TIMEZONE: the campaign's period is in local dates
        AND c.start_date <= (now() AT TIME ZONE 'America/Sao_Paulo')::date
        AND (c.end_date IS NULL OR c.end_date >= (now() AT TIME ZONE 'America/Sao_Paulo')::date)
        AND EXISTS (SELECT 1 FROM campaign_agent a WHERE a.campaign_id = c.id AND a.agent_id = v.id)
      )
    )
    AND m.status IN ('NOT_ACTED', 'SCHEDULED')
    AND NOT p.do_not_call
    AND (m.assigned_agent_id IS NULL OR m.assigned_agent_id = v.id)
    AND (m.reserved_agent_id IS NULL OR m.reserved_agent_id = v.id OR m.reserved_until <= now())
    AND (m.claimed_by_id IS NULL OR m.claimed_by_id = v.id OR m.claim_expires_at <= now())
    AND (m.due_at IS NULL OR m.due_at <= now())
  ORDER BY m.priority, m.due_at, m.id
$$;

CREATE OR REPLACE FUNCTION bench_pg.tickets() RETURNS SETOF ticket
LANGUAGE sql STABLE AS $$
  SELECT t.*
  FROM ticket t
  JOIN app_user v ON v.id = nullif(current_setting('jwt.claims.sub', true), '')::integer
  WHERE v.active AND v.token_version = nullif(current_setting('jwt.claims.ver', true), '')::integer
    AND CASE v.role
      WHEN 'COMPANY_REP' THEN t.company_id = v.company_id
      WHEN 'AGENT' THEN t.assignee_id = v.id OR t.assignee_id IS NULL
      ELSE true
    END
  ORDER BY t.id
$$;

-- The ticket list by last message, newest first (issue 15): the same visibility as bench_pg.tickets,
-- in Contato's order (last_message_at descending, tickets without a message after them, id descending
-- breaking ties). An agent's and staff's thread summary counts internal notes (the columns without the
-- public_ prefix); this bench logs in as an agent.
CREATE OR REPLACE FUNCTION bench_pg.tickets_by_last_message() RETURNS SETOF ticket
LANGUAGE sql STABLE AS $$
  SELECT t.*
  FROM ticket t
  JOIN app_user v ON v.id = nullif(current_setting('jwt.claims.sub', true), '')::integer
  WHERE v.active AND v.token_version = nullif(current_setting('jwt.claims.ver', true), '')::integer
    AND v.role <> 'COMPANY_REP'
    AND (v.role <> 'AGENT' OR t.assignee_id = v.id OR t.assignee_id IS NULL)
  ORDER BY t.last_message_at DESC NULLS LAST, t.id DESC
$$;
