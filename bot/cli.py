"""The ``chaterp`` command line: run the bot, migrate, import CSV, invite people, demo data."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import httpx
import typer

from bot.bootstrap import Services, build_services
from bot.logging_setup import configure_logging
from bot.settings import Settings, get_settings
from domain.errors import DomainError
from domain.matching import NameIndex
from domain.model import Actor, Role
from domain.transaction import run_in_transaction

if TYPE_CHECKING:
    from notifications.scheduler import JobScheduler

logger = logging.getLogger(__name__)

app = typer.Typer(help="chaterp: a conversational ERP run from Telegram.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
import_app = typer.Typer(help="Import CSV files (UTF-8, header row).", no_args_is_help=True)
jobs_app = typer.Typer(help="Scheduled jobs (summaries, reminders, digests).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(jobs_app, name="jobs")

CLI_ACTOR = Actor.system("cli")
TELEGRAM_LINK = "https://t.me/{username}?start={token}"
USERNAME_PLACEHOLDER = "<your_bot_username>"


def _services() -> Services:
    configure_logging()
    return build_services(get_settings())


def _fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


class Framework(StrEnum):
    ptb = "ptb"
    aiogram = "aiogram"


FrameworkOption = Annotated[
    Framework | None,
    typer.Option(help="ptb (python-telegram-bot) or aiogram; default CHATERP_FRAMEWORK"),
]


def _settings(framework: Framework | None) -> Settings:
    """The settings, with the chat framework chosen on the command line if it was."""
    settings = get_settings()
    if framework is None:
        return settings
    return settings.model_copy(update={"chaterp_framework": framework.value})


@app.command()
def run(framework: FrameworkOption = None) -> None:
    """Run the bot (with TELEGRAM_BOT_TOKEN); without a token, the sandbox."""
    from bot.runner import StartupError, run_bot

    settings = _settings(framework)
    if not settings.has_token:
        typer.echo(
            "No TELEGRAM_BOT_TOKEN is set, so this is the sandbox: the whole product on this "
            "machine, with a stand-in for Telegram in your browser. Set TELEGRAM_BOT_TOKEN (from "
            "@BotFather) to run the real bot instead."
        )
        sandbox(host=None, port=None, reset=False, framework=framework)
        return
    services = _services()
    typer.echo(f"Database ready: {_safe_url(services.database.url)}")
    typer.echo(f"Starting the bot ({settings.chaterp_framework}); stop it with Ctrl+C.")
    try:
        run_bot(settings, services.database.uow, reader_factory=services.database.reader)
    except StartupError as error:
        raise _fail(str(error)) from None
    finally:
        services.database.dispose()


@app.command()
def sandbox(
    host: Annotated[
        str | None, typer.Option(help="Address to serve on (default: SANDBOX_HOST or 127.0.0.1)")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to serve on (default: SANDBOX_PORT or 8080)")
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Start over: delete the sandbox database first")
    ] = False,
    framework: FrameworkOption = None,
) -> None:
    """The whole product with no Telegram account: emulated Telegram, the bot, a chat page."""
    from bot.runner import StartupError
    from bot.sandbox import Prepared, reset_database, run_sandbox
    from storage.database import Database

    configure_logging()
    settings = _settings(framework)
    if reset:
        try:
            removed = reset_database(settings)
        except ValueError as error:
            raise _fail(str(error)) from None
        typer.echo(f"Deleted {removed}; starting over." if removed else "Nothing to delete.")

    def prepared(outcome: Prepared, database: Database) -> None:
        where = _safe_url(database.url)
        if outcome.demo_loaded:
            typer.echo(f"Sandbox database {where}: the demo business is loaded.")
        else:
            typer.echo(f"Sandbox database {where} (kept from last time; --reset starts over).")

    def ready(url: str) -> None:
        typer.secho(f"Sandbox ready: open {url} in your browser. Stop with Ctrl+C.", bold=True)

    try:
        run_sandbox(
            settings,
            host=host if host is not None else settings.sandbox_host,
            port=port if port is not None else settings.sandbox_port,
            on_prepared=prepared,
            on_ready=ready,
        )
    except StartupError as error:
        raise _fail(str(error)) from None
    typer.echo("Sandbox stopped; its chats are kept for next time.")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    services = _services()
    typer.echo(f"Schema is up to date: {_safe_url(services.database.url)}")


class ImportKind(StrEnum):
    products = "products"
    customers = "customers"
    stock = "stock"


@import_app.callback(invoke_without_command=True)
def _import_help() -> None:
    """Import products, customers or stock from CSV; a file with a bad row imports nothing."""


def _run_import(kind: ImportKind, path: Path) -> None:
    from domain import importing

    if not path.is_file():
        raise _fail(f"No such file: {path}")
    services = _services()
    importer = {
        ImportKind.products: importing.import_products,
        ImportKind.customers: importing.import_customers,
        ImportKind.stock: importing.import_stock,
    }[kind]
    with typer.progressbar(length=1, label=f"Importing {kind}") as bar:
        last = 0

        def progress(done: int, total: int) -> None:
            nonlocal last
            bar.length = max(total, 1)
            bar.update(done - last)
            last = done

        report = importer(services.database.uow, path, actor=CLI_ACTOR, progress=progress)
    if not report.ok:
        typer.secho(report.describe(), fg=typer.colors.RED, err=True)
        raise _fail(f"Nothing was imported from {path.name}: fix the lines above and try again.")
    typer.echo(f"{path.name}: {report.describe()}")


@import_app.command("products")
def import_products(
    file: Annotated[Path, typer.Argument(help="sku,name,unit,price,cost,…")],
) -> None:
    """Products: sku,name,unit,price,cost,reorder_point,reorder_qty,aliases (a|b)."""
    _run_import(ImportKind.products, file)


@import_app.command("customers")
def import_customers(file: Annotated[Path, typer.Argument(help="name,phone,address,…")]) -> None:
    """Customers: name,phone,address,credit_limit,payment_terms_days,sales_rep,birthday."""
    _run_import(ImportKind.customers, file)


@import_app.command("stock")
def import_stock(file: Annotated[Path, typer.Argument(help="sku,warehouse,quantity,cost")]) -> None:
    """Stock receipts: sku,warehouse,quantity,cost."""
    _run_import(ImportKind.stock, file)


@app.command()
def invite(
    role: Annotated[Role, typer.Argument(help="owner, sales, warehouse or customer")],
    customer: Annotated[str | None, typer.Option(help="Customer name (customer invites)")] = None,
    name: Annotated[str, typer.Option(help="Name of the person invited")] = "",
) -> None:
    """Print a one-time deep link that binds whoever opens it to ROLE."""
    from domain.services.users import create_invite

    if role is Role.CUSTOMER and not customer:
        raise _fail("A customer invite needs --customer NAME (the customer it belongs to).")
    services = _services()
    customer_id = _customer_id(services, customer) if customer else None
    try:
        issued = run_in_transaction(
            services.database.uow,
            lambda uow: create_invite(
                uow, actor=CLI_ACTOR, role=role, customer_id=customer_id, name=name
            ),
        )
    except DomainError as exc:
        raise _fail(f"Cannot create the invite: {exc}") from exc
    username = bot_username(services.settings) or USERNAME_PLACEHOLDER
    expires = issued.invite.expires_at.astimezone(ZoneInfo(services.settings.timezone))
    whose = f" of {customer}" if customer else ""
    typer.echo(f"Invite for {role}{whose}, single use, valid until {expires:%Y-%m-%d %H:%M %Z}:")
    typer.echo(f"  {TELEGRAM_LINK.format(username=username, token=issued.token)}")
    typer.echo(f"  or send the bot: /start {issued.token}")


def _customer_id(services: Services, wanted: str) -> int:
    """The customer whose name clearly matches ``wanted``; otherwise list the candidates."""
    with services.database.reader() as uow:
        customers = uow.customers.list()
    index = NameIndex()
    for item in customers:
        index.upsert(item.id, item.name)
    result = index.search(wanted, limit=5)
    if result.sure and result.best is not None:
        return result.best.key
    if not result.candidates:
        raise _fail(f"No customer matches {wanted!r}.")
    names = ", ".join(c.name for c in result.candidates)
    raise _fail(f"{wanted!r} is ambiguous: {names}. Use the full name.")


def bot_username(settings: Settings) -> str | None:
    """The bot's @username from getMe, or None without a token or when unreachable."""
    if not settings.has_token or settings.telegram_bot_token is None:
        return None
    token = settings.telegram_bot_token.get_secret_value()
    url = f"{settings.telegram_api_base_url.rstrip('/')}/bot{token}/getMe"
    try:
        response = httpx.get(url, timeout=10)
        data = response.json()
    except (httpx.HTTPError, ValueError):
        logger.warning("getMe failed; the link shows a placeholder for the bot username")
        return None
    if not data.get("ok"):
        logger.warning("getMe refused: %s", data.get("description", "no description"))
        return None
    username = data.get("result", {}).get("username")
    return str(username) if username else None


@app.command("demo-data")
def demo_data() -> None:
    """Load a demo business (catalog, customers, stock, six weeks of history) into an empty DB."""
    from bot.demo import load_demo_data

    services = _services()
    summary = load_demo_data(services.database)
    if summary.skipped:
        typer.echo("The database already has data; demo data was not loaded.")
        return
    typer.echo(
        f"Demo business loaded: {summary.products} products, {summary.customers} customers, "
        f"{summary.orders} orders, {summary.invoices} invoices, {summary.payments} payments."
    )


def _scheduler(services: Services) -> JobScheduler:
    from bot.bootstrap import message_settings
    from bot.runner import schedule_config
    from notifications.scheduler import JobScheduler

    settings = services.settings
    return JobScheduler(
        services.database.uow, message_settings(settings), schedule_config(settings)
    )


@jobs_app.command("list")
def jobs_list() -> None:
    """Every scheduled job: when it runs, what it sends, and the last time it ran."""
    services = _services()
    zone = ZoneInfo(services.settings.timezone)
    for name, when, description, last in _scheduler(services).describe():
        ran = f"{last.astimezone(zone):%Y-%m-%d %H:%M}" if last else "never"
        typer.echo(f"{name}  ({when}; last run: {ran})")
        typer.echo(f"    {description}")


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="A job from `chaterp jobs list`")],
    at: Annotated[
        str | None, typer.Option("--at", help="As if at this time, e.g. 2026-03-02T19:00")
    ] = None,
    send: Annotated[
        bool, typer.Option("--send/--no-send", help="Send now through the Bot API (with a token)")
    ] = True,
) -> None:
    """Run a job now, as if at --at (default now): to test it, or to send a missed report.

    Whatever was already queued for that day is not sent again.
    """
    from notifications.jobs import JOBS

    services = _services()
    settings = services.settings
    names = [job.name for job in JOBS]
    if name.replace("_", "-") not in names:
        raise _fail(f"No job {name!r}. Jobs: {', '.join(names)}")
    moment = _moment(at, settings.timezone) if at else None
    result = _scheduler(services).run_now(name, moment)
    when = result.slot.strftime("%Y-%m-%d %H:%M %Z")
    typer.echo(f"{result.job} as of {when}: {result.queued} new messages queued.")
    if not result.queued:
        return
    if not send or not settings.has_token:
        typer.echo("The running bot sends them (within a few seconds).")
        return
    sent = asyncio.run(_send_queued(services))
    typer.echo(f"Sent {sent} messages.")


def _moment(text: str, timezone: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise _fail(f"Cannot read the time {text!r}; write it like 2026-03-02T19:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment


async def _send_queued(services: Services) -> int:
    """Send what is due through the Bot API, as the bot's sender would (same limits)."""
    from telegram import Bot

    from bot.bootstrap import message_settings
    from bot.ptb.gateway import PtbGateway
    from bot.runner import notifications_config
    from notifications.limits import FloodBudget
    from notifications.sender import OutboxSender

    settings = services.settings
    assert settings.telegram_bot_token is not None
    base = settings.telegram_api_base_url.rstrip("/")
    config = notifications_config(settings)
    async with Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
    ) as bot:
        sender = OutboxSender(
            services.database.uow,
            PtbGateway(bot),
            settings=message_settings(settings),
            budget=FloodBudget(config.limits),
            config=config.sender,
            reader_factory=services.database.reader,
            name="chaterp-jobs-run",
        )
        return await sender.send_due()


def _safe_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":  # pragma: no cover
    app()
