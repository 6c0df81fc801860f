"""What the residents of bench/desk_data.py write, and what they are told: our own phrasings, varied enough
that a search for a word (漏水, 路灯, 电梯) finds a realistic share of the petitions."""

from __future__ import annotations

PLACES = ("{b}号楼", "{b}号楼一单元", "{b}号楼楼下", "{b}号楼门口", "{b}号楼后面", "小区东门", "小区南门口",
          "{b}号楼旁边的小路上", "{b}号楼地下车库", "{b}号楼三楼楼道", "我家楼上", "{b}号楼对面")
SUFFIXES = ("", "", "", "，麻烦尽快处理", "，已经好几天了", "，请派人来看看", "，老人孩子出门不方便",
            "，谢谢", "，之前反映过还没解决", "，希望尽快修好")
PHRASES: dict[str, tuple[str, ...]] = {
    "lighting": ("路灯不亮了", "楼道灯坏了晚上很黑", "声控灯一直不亮", "路灯白天也亮着", "门口的灯一闪一闪"),
    "road": ("路面塌了一个坑", "人行道砖松了踩上去晃", "下雨路上积水很深", "井盖松动了", "路边护栏断了"),
    "sanitation": ("垃圾好几天没人清运", "垃圾桶满了到处是臭味", "楼道里堆满了杂物", "有人乱扔垃圾",
                   "化粪池冒出来了很臭"),
    "greening": ("大树枝断了挂在半空", "草坪被人踩秃了", "树长得太高挡住阳光", "绿化带里有枯树"),
    "parking": ("消防通道被车堵了", "有车长期占着车位不走", "电动车乱停挡路", "僵尸车停了半年没人管"),
    "charging": ("充电桩坏了充不上电", "电动车在楼道里充电很危险", "充电桩扫码没反应", "充电口漏电"),
    "noise": ("晚上装修噪音太大", "广场舞音响太吵", "楼上半夜一直有响声", "空调外机噪音很大"),
    "elevator": ("电梯坏了停在三楼", "电梯有异响晃得厉害", "电梯按钮失灵", "电梯门关不上"),
    "utilities": ("家里停水了", "水管漏水了", "自来水发黄不能喝", "下水道堵了污水漫出来", "暖气不热",
                  "家里停电了"),
    "housing": ("楼顶漏水家里墙面发霉", "外墙瓷砖脱落了", "楼道墙皮起鼓掉下来", "窗户玻璃裂了"),
    "facilities": ("单元门禁坏了关不上", "健身器材坏了", "信报箱锁坏了", "楼道扶手松了", "监控坏了"),
    "safety": ("楼道里堆放煤气罐", "消防栓没有水", "灭火器过期了", "有陌生人在楼里转悠"),
    "dispute": ("邻居家漏水到我家不肯赔", "楼上养狗天天叫", "邻居占用公共走廊", "对门把鞋柜放在过道"),
    "construction": ("有人在楼顶私搭乱建", "一楼住户私自扩建院子", "有人在绿地上盖棚子"),
    "elderly": ("独居老人好几天没出门", "老人腿脚不便需要帮忙买菜", "想申请老年助餐"),
    "property": ("物业电话一直打不通", "物业费收了不干活", "保安不在岗", "物业维修一直拖着不来"),
    "other": ("想咨询一下办居住证", "小区里流浪猫太多", "快递柜总是满的", "想问一下社区活动时间"),
}
WEIGHTS = {"sanitation": 14, "lighting": 10, "utilities": 10, "parking": 9, "property": 9, "noise": 8,
           "road": 6, "facilities": 7, "elevator": 5, "housing": 6, "charging": 4, "greening": 3, "other": 3,
           "dispute": 2, "safety": 2, "construction": 1, "elderly": 1}
PROGRESS = ("已到现场查看，正在联系维修", "已联系物业，明天上门", "材料已订，等到货更换", "已协调相关部门处理",
            "今天先做了临时处理", "已上门沟通，住户同意配合")
RESOLUTIONS = ("已修好，经现场确认恢复正常", "已清理干净", "已更换新的配件", "已协调双方达成一致",
               "已联系供水公司恢复供水", "已安排专人定期巡查", "已拆除并恢复原状")
REPLY = "已收到您反映的问题，编号{id}，网格员会尽快处理。"


def category_weights(names: list[str]) -> tuple[list[str], list[int]]:
    """The catalogue's categories with how often each is reported (unknown ones: rarely)."""
    for name in names:
        PHRASES.setdefault(name, ("有个问题想反映一下",))
    return names, [WEIGHTS.get(n, 1) for n in names]

TO_WORKER = "新诉求 #{id}：{text}"
TO_RESIDENT = "您反映的问题（编号{id}）已办结，请回复 满意、基本满意 或 不满意。"
ANNOUNCEMENTS = ("本周六上午小区停水检修，请提前储水。", "明天下午消防演练，请大家配合。",
                 "近期电动车充电安全检查，请勿在楼道充电。", "社区卫生服务站周三免费量血压。",
                 "垃圾分类新规下月起实行，请按时投放。", "春节期间物业值班电话已更新。")
