"""What demo interactions say: subjects and bodies in Chinese for Chinese customers, English for the others.

Keyed by story; each story has a few variants per language. Placeholders: {product}, {order},
{amount}, {courier}, {date}, {days}, {months}, {name}, {company}, {contact}, {quantity}. The demo
shop is 鹿环商城 (LoopHome Store).
"""

from __future__ import annotations

Texts = dict[str, list[tuple[str, str]]]

STORIES: dict[str, Texts] = {
    # — awareness —
    "ad_chat": {
        "zh": [("咨询活动优惠", "客户从信息流广告进入在线客服，询问{product}的优惠活动和分期免息政策，"
                "已发送活动页链接。"),
               ("询问以旧换新", "客户看到以旧换新广告，询问旧机折价标准，已说明回收流程并引导其在线估价。")],
        "en": [("Question about the promotion", "Came in from an ad and asked about the current offer on {product} "
                "and international shipping. Sent the offer page and shipping rates."),
               ("Trade-in question", "Asked whether the trade-in programme is available abroad. Explained it is "
                "mainland-only for now; offered the welcome coupon instead.")],
    },
    "social_post": {
        "zh": [("小红书笔记提及品牌", "客户在小红书发布开箱笔记，提到正在比较{product}与竞品，"
                "市场部已在评论区回复参数对比。"),
               ("抖音直播间提问", "客户在直播间询问{product}是否支持全国联保，主播已答复并引导添加企业微信。")],
        "en": [("Instagram mention", "Tagged us in a post comparing {product} with a competitor. Marketing replied "
                "with a spec comparison."),
               ("Question on X (Twitter)", "Asked publicly whether {product} ships to their country. Replied with "
                "the shipping page.")],
    },
    "event_visit": {
        "zh": [("参加新品体验日", "客户到店参加新品体验日，重点体验了{product}，留下联系方式，希望有优惠时通知。"),
               ("家电节现场咨询", "客户在商场家电节展位咨询{product}的安装条件和能耗，已登记需求并预约回访。")],
        "en": [("Visited our trade-show booth", "Stopped by the booth, tried {product} and left contact details "
                "for the launch offer.")],
    },
    # — consideration —
    "presales_chat": {
        "zh": [("售前咨询：{product}", "客户询问{product}与上一代的区别、能效等级和保修政策，已逐项解答，"
                "并推荐加购延保服务。"),
               ("咨询配送与安装", "客户询问{product}下单后几天送达、是否包含安装和旧机搬运，已说明送装一体服务范围。"),
               ("比价咨询", "客户表示其他平台价格更低，询问能否保价。已说明价保30天政策及会员专享券。")],
        "en": [("Pre-sales question: {product}", "Asked how {product} differs from the previous model and what the "
                "warranty covers abroad. Answered each point and suggested the extended warranty."),
               ("Voltage and plug type", "Asked whether {product} works on 110 V. Confirmed the supported voltage and "
                "the plug adapter included in the box.")],
    },
    "presales_wechat": {
        "zh": [("微信咨询：门店库存", "客户通过公众号询问{product}附近门店是否有现货，已查询并告知{date}可到店自提。"),
               ("微信咨询：颜色与配置", "客户询问{product}的颜色和存储配置，已发送对比图，客户表示考虑后下单。")],
        "en": [("WeChat question about {product}", "Asked through the official account about colours and storage "
                "options. Sent the comparison chart.")],
    },
    "presales_form": {
        "zh": [("官网留资：{product}报价", "客户在官网提交表单，希望了解{product}的价格和安装条件，已转销售跟进。"),
               ("官网留资：团购咨询", "客户所在小区计划团购{product}，询问团购价格，已转对应区域销售。")],
        "en": [("Web form: quote for {product}", "Requested a quote for {product} with delivery. Passed to "
                "International Sales.")],
    },
    "presales_call": {
        "zh": [("来电咨询：{product}", "客户来电询问{product}的尺寸、噪音和耗电情况，已详细说明并发送产品参数短信。"),
               ("来电咨询：分期付款", "客户询问{product}能否分期付款，已说明12期免息活动和办理方式。")],
        "en": [("Call: question about {product}", "Called to ask about dimensions and noise level of {product}. "
                "Emailed the spec sheet.")],
    },
    "store_visit": {
        "zh": [("到店体验：{product}", "客户到店体验{product}，对画质/手感比较满意，担心价格，店员介绍了近期活动。"),
               ("到店咨询：旧机回收", "客户到店咨询以旧换新，已评估旧机价值，客户表示回家商量后决定。")],
        "en": [("Store visit: {product}", "Tried {product} in the Shanghai flagship store while travelling; asked "
                "about shipping it home.")],
    },
    "quote_email": {
        "zh": [("{company} 采购报价", "已向{contact}发送{product}批量采购报价单（{quantity}台），"
                "含送货安装及三年延保方案。"),
               ("报价调整", "根据{contact}反馈，调整{product}采购数量为{quantity}台，更新报价并申请阶梯折扣。")],
        "en": [("Quote for {company}", "Sent {contact} a volume quote for {quantity} × {product}, including "
                "delivery, installation and a three-year warranty.")],
    },
    "sales_visit": {
        "zh": [("拜访{company}", "拜访{company}，与{contact}沟通{product}的采购需求和预算，对方计划本季度内下单。"),
               ("现场勘查", "到{company}现场勘查{product}安装位置和电路条件，已出具安装方案。")],
        "en": [("Meeting at {company}", "Met {contact} to discuss their needs for {product}; they expect to order "
                "this quarter.")],
    },
    # — purchase —
    "order_sms": {
        "zh": [("订单确认 {order}", "【鹿环商城】您的订单{order}已支付成功，金额¥{amount}，我们将尽快为您发货。")],
        "en": [("Order confirmation {order}", "Thank you for your order {order} (CNY {amount}). We will let you "
                "know as soon as it ships.")],
    },
    "store_purchase": {
        "zh": [("门店购买 {product}", "客户在门店体验后购买{product}（订单{order}），"
                "店员协助注册会员并讲解使用注意事项。")],
        "en": [("In-store purchase", "Bought {product} in store (order {order}); registered as a member.")],
    },
    "phone_order": {
        "zh": [("电话下单 {order}", "客户来电订购{product}，已核对收货地址和发票信息，订单{order}已生成。")],
        "en": [("Order by phone {order}", "Ordered {product} by phone; confirmed the shipping address and invoice "
                "details.")],
    },
    "corporate_order": {
        "zh": [("签订采购合同 {order}", "与{contact}确认{product}等采购明细（{quantity}台），合同已盖章回传，"
                "订单{order}已录入。")],
        "en": [("Purchase order received {order}", "{contact} confirmed the order for {quantity} × {product}; "
                "PO received and entered as {order}.")],
    },
    "cancel_request": {
        "zh": [("取消订单 {order}", "客户下单后发现选错型号，申请取消订单{order}，已取消并原路退款。"),
               ("取消订单 {order}", "客户表示在其他渠道找到更低价格，要求取消订单，已挽留未果并办理取消。")],
        "en": [("Cancel order {order}", "Ordered the wrong model; cancelled {order} and refunded to the original "
                "payment method.")],
    },
    # — delivery —
    "shipped_sms": {
        "zh": [("发货通知 {order}", "【鹿环商城】您的订单{order}已由{courier}发出，预计{days}天内送达，请保持电话畅通。"
                "")],
        "en": [("Your order {order} has shipped", "Your order {order} is on its way with {courier}; expected "
                "within {days} days.")],
    },
    "install_call": {
        "zh": [("预约安装 {order}", "已致电客户预约{product}上门安装时间：{date}，提醒客户提前确认电源和安装位置。"),
               ("安装回访 {order}", "安装完成后回访，客户确认{product}运行正常，已讲解日常保养要点。")],
        "en": [("Installation appointment {order}", "Called to book the installation of {product} on {date}; "
                "reminded the customer to check the power outlet.")],
    },
    "delivery_wechat": {
        "zh": [("签收提醒 {order}", "通过企业微信发送{product}电子保修卡和使用指南，客户已确认签收。")],
        "en": [("Delivered: {order}", "Sent the digital warranty card and user guide for {product} after "
                "delivery.")],
    },
    # — use —
    "usage_question": {
        "zh": [("使用咨询：{product}", "客户询问{product}的功能设置和日常保养方法，已发送图文教程，问题解决。"),
               ("使用咨询：App 绑定", "客户无法在App中绑定{product}，已指导重置网络后绑定成功。")],
        "en": [("How-to question: {product}", "Asked how to set up {product}; sent the step-by-step guide and "
                "the issue was solved."),
               ("App pairing problem", "Could not pair {product} with the app; walked through a network reset "
                "and it worked.")],
    },
    "review_request": {
        "zh": [("邀请评价 {order}", "【鹿环商城】感谢购买{product}，欢迎对本次购物和送装服务进行评价，"
                "评价后可领取积分。")],
        "en": [("How was your order?", "Thanks for buying {product}. Tell us how the purchase and delivery went.")],
    },
    "social_praise": {
        "zh": [("微博好评：{product}", "客户在微博晒单，称赞{product}安装师傅专业、送货快，已转发并致谢。")],
        "en": [("Positive review online", "Posted a positive review of {product} praising the fast delivery; "
                "thanked them publicly.")],
    },
    "social_complaint": {
        "zh": [("微博投诉：{product}", "客户在微博发文抱怨{product}售后响应慢，舆情组已私信联系并转客服部跟进。")],
        "en": [("Complaint on social media", "Posted that support for {product} was slow to answer. Reached out "
                "by direct message and opened a follow-up.")],
    },
    # — service —
    "delivery_delay": {
        "zh": [("投诉：物流延迟 {order}", "客户反映订单{order}已超过承诺时效仍未送达，情绪较急。已联系{courier}催件，"
                "承诺24小时内回电。"),
               ("催件：{order}", "客户询问订单{order}物流停滞三天未更新，已向{courier}发起催件工单。")],
        "en": [("Complaint: late delivery {order}", "Order {order} is past the promised delivery date. Chased "
                "{courier} and promised an update within 24 hours.")],
    },
    "damaged": {
        "zh": [("投诉：商品破损 {order}", "客户签收时发现{product}外包装破损、机身有划痕，要求换货。已登记并拍照留证，"
                "安排换新。")],
        "en": [("Arrived damaged: {order}", "{product} arrived with a dented case. Photos received; a replacement "
                "is being sent.")],
    },
    "install_problem": {
        "zh": [("投诉：安装师傅迟到 {order}", "客户反映安装师傅未按约定时间上门，等待超过两小时。已致歉并重新预约，"
                "补偿50元优惠券。"),
               ("投诉：安装不规范", "客户反映{product}安装后有漏水/异响，怀疑安装不规范，已安排师傅二次上门。")],
        "en": [("Installer did not show up", "The installer missed the agreed slot for {product}. Apologised, "
                "rebooked and added a CNY 50 voucher.")],
    },
    "repair": {
        "zh": [("报修：{product}", "客户来电反映{product}使用{months}个月后出现故障（无法开机/不制冷/异响），"
                "已登记报修，安排工程师上门检测。"),
               ("维修进度查询", "客户询问{product}维修进度，已查询配件到货时间并告知预计{date}完成维修。")],
        "en": [("Repair request: {product}", "{product} stopped working after {months} months. Logged a repair and "
                "arranged a pick-up."),
               ("Repair status", "Asked about the repair of {product}; parts arrive on {date}.")],
    },
    "return_request": {
        "zh": [("退货申请 {order}", "客户申请退回{product}，原因：与描述不符。已审核通过并安排上门取件，"
                "退款将在收货后3个工作日内原路返回。"),
               ("七天无理由退货 {order}", "客户表示{product}不太适合家中使用，申请七天无理由退货，已安排取件。")],
        "en": [("Return request {order}", "Wants to return {product}: not as described. Approved; the refund "
                "follows within 3 working days of receipt.")],
    },
    "invoice": {
        "zh": [("开具发票 {order}", "客户需要为订单{order}开具增值税专用发票，已核对开票信息并提交财务。")],
        "en": [("Invoice request {order}", "Asked for a VAT invoice for {order}; sent the PDF by email.")],
    },
    "callback": {
        "zh": [("回访：问题处理结果", "回访客户，确认{product}相关问题已解决，客户对处理结果表示满意。"),
               ("回访：问题处理结果", "回访客户，问题已处理，但客户认为处理时间较长，表示基本满意。")],
        "en": [("Follow-up call", "Called back to confirm the {product} issue is solved; the customer is happy "
                "with the outcome.")],
    },
    # — loyalty —
    "campaign_618": {
        "zh": [("618年中大促预告", "【鹿环商城】618年中大促即将开始，会员专享满3000减300，家电以旧换新最高补贴500元。"
                "回TD退订")],
        "en": [("Mid-year sale starts soon", "Our 618 mid-year sale starts soon: member coupons and free "
                "international shipping over CNY 2,000. Unsubscribe any time.")],
    },
    "campaign_1111": {
        "zh": [("双十一狂欢预告", "【鹿环商城】双十一预售开启，定金膨胀至3倍，前1小时下单加赠一年延保。回TD退订")],
        "en": [("Singles' Day preview", "Singles' Day pre-sale is open: deposits count triple and the first hour "
                "adds a free year of warranty. Unsubscribe any time.")],
    },
    "birthday": {
        "zh": [("生日祝福", "【鹿环商城】{name}，祝您生日快乐！送您100元生日券，30天内有效。回TD退订")],
        "en": [("Happy birthday, {name}!", "A CNY 100 birthday voucher is waiting in your account for the next "
                "30 days.")],
    },
    "winback_call": {
        "zh": [("老客户回访", "距离上次购买已超过半年，致电了解{product}使用情况并介绍最新会员权益，"
                "客户表示暂无购买计划。"),
               ("老客户回访", "致电老客户了解近况，客户反映上次{product}售后体验一般，已记录意见并赠送优惠券。")],
        "en": [("Check-in call", "Called to ask how {product} is doing and to mention the new member benefits; "
                "no plans to buy at the moment.")],
    },
    "winback_message": {
        "zh": [("召回关怀", "【鹿环商城】好久不见！送您一张200元回归礼券，欢迎回来看看新品。回TD退订")],
        "en": [("We miss you", "It has been a while since your last order. Here is a CNY 200 welcome-back voucher.")],
    },
    "account_review": {
        "zh": [("季度业务回顾", "拜访{company}，与{contact}回顾本季度采购与售后情况，对方对送装时效满意，"
                "计划下季度增购。"),
               ("年度框架协议沟通", "与{contact}沟通明年框架协议价格和服务条款，对方希望增加专属客服。")],
        "en": [("Quarterly account review", "Reviewed this quarter's orders and service with {contact} at "
                "{company}; they plan to expand next quarter.")],
    },
    "internal_note": {
        "zh": [("内部备注", "客户要求仅在工作日18点后联系，已更新沟通偏好。"),
               ("内部备注", "该客户多次咨询未下单，建议在大促期间重点跟进。")],
        "en": [("Internal note", "Prefers email over phone; do not call during working hours."),
               ("Internal note", "Several inquiries without an order so far; follow up during the next sale.")],
    },
}

COURIERS = {"zh": ("顺丰速运", "京东物流", "中通快递", "圆通速递", "德邦物流"), "en": ("SF Express", "DHL", "FedEx")}


def text_for(story: str, locale: str, pick, **values) -> tuple[str, str]:
    """(subject, body) of one variant of `story` in `locale`, chosen by `pick` (a random.choice)."""
    subject, body = pick(STORIES[story][locale])
    return subject.format(**values)[:200], body.format(**values)
